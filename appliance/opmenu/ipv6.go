package opmenu

import (
	"fmt"
	"io"
	"strings"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
)

// SetWANIPv6 returns c with the WAN's IPv6 set from what the operator
// typed: off, slaac, dhcpv6, or a static address with its prefix length
// and the gateway ("2001:db8::10/64 fe80::1"). As with SetLAN, the
// owner's Save validates the whole and words what is wrong.
func SetWANIPv6(c config.Config, input string) (config.Config, error) {
	words := strings.Fields(input)
	i := ifaceIndex(c, config.RoleWAN)
	wan := config.Interface{Role: config.RoleWAN}
	if i >= 0 {
		wan = c.Interfaces[i]
	}
	wan.IPv6Address, wan.IPv6Gateway = config.Prefix{}, config.Addr{}
	switch {
	case len(words) == 0:
		return c, fmt.Errorf("nothing typed; nothing changed")
	case len(words) == 1 && strings.EqualFold(words[0], "off"):
		wan.IPv6 = ""
	case len(words) == 1 && strings.EqualFold(words[0], string(config.IPv6SLAAC)):
		wan.IPv6 = config.IPv6SLAAC
	case len(words) == 1 && strings.EqualFold(words[0], string(config.IPv6DHCPv6)):
		wan.IPv6 = config.IPv6DHCPv6
	case len(words) == 2 && strings.Contains(words[0], "/"):
		wan.IPv6 = config.IPv6Static
		wan.IPv6Address, wan.IPv6Gateway = config.ParsePrefix(words[0]), config.ParseAddr(words[1])
	default:
		return c, fmt.Errorf("%q is not off, slaac, dhcpv6, nor an address/prefix and a gateway like 2001:db8::10/64 fe80::1", strings.TrimSpace(input))
	}
	c = clone(c)
	if i >= 0 {
		c.Interfaces[i] = wan
	} else {
		c.Interfaces = append(c.Interfaces, wan)
	}
	return c, nil
}

// ipv6Item is the console's way to the WAN's IPv6.
func (b *Menu) ipv6Item() console.Item {
	return console.Item{Key: "22", Title: "Set WAN IPv6 (off, SLAAC, DHCPv6 or static)", Dialog: b.setWANIPv6}
}

func (b *Menu) setWANIPv6(s *console.Session) error {
	if c, _, err := b.current(); err == nil {
		for _, i := range c.WithDefaults().Interfaces {
			if i.Role == config.RoleWAN {
				s.Printf("WAN IPv6 is now: %s\n", wanIPv6Summary(i))
			}
		}
	}
	s.Printf("The networks inside the tunnels stay IPv4; IPv6 is for the WAN and the peers' addresses.\n")
	a, ok := s.Ask("off, slaac, dhcpv6, or a static address and gateway (2001:db8::10/64 fe80::1): ")
	if !ok {
		return io.EOF
	}
	return b.change(s, "WAN IPv6 set to "+a, func(c config.Config) (config.Config, error) {
		return SetWANIPv6(c, a)
	})
}

// wanIPv6Summary says how the WAN takes IPv6, for the status screen.
func wanIPv6Summary(i config.Interface) string {
	switch i.IPv6 {
	case "", config.IPv6Off:
		return "off"
	case config.IPv6Static:
		return fmt.Sprintf("static %s gw %s", i.IPv6Address, i.IPv6Gateway)
	}
	return string(i.IPv6)
}
