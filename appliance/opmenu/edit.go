package opmenu

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/tunneler/tunneler/appliance/config"
)

// SetLAN returns c with the LAN interface set from what the operator
// typed: "dhcp", or an address with its prefix length (192.168.1.1/24).
// The owner validates the result as a whole when the menu saves it, so an
// address that clashes with a tunnel's networks is refused with the same
// words the web UI uses.
func SetLAN(c config.Config, input string) (config.Config, error) {
	input = strings.TrimSpace(input)
	lan := config.Interface{Role: config.RoleLAN}
	i := ifaceIndex(c, config.RoleLAN)
	if i >= 0 {
		lan = c.Interfaces[i]
	}
	switch {
	case strings.EqualFold(input, "dhcp"):
		lan.Mode, lan.Address, lan.Gateway, lan.DNS = config.ModeDHCP, config.Prefix{}, config.Addr{}, nil
	case input == "":
		return c, fmt.Errorf("nothing typed; nothing changed")
	default:
		p, err := netip.ParsePrefix(input)
		if err != nil {
			if _, aerr := netip.ParseAddr(input); aerr == nil {
				return c, fmt.Errorf("%q has no prefix length: type it like %s/24", input, input)
			}
			return c, fmt.Errorf("%q is not an address like 192.168.1.1/24, nor dhcp", input)
		}
		if !p.Addr().Is4() {
			return c, fmt.Errorf("%s: the LAN address must be IPv4", p)
		}
		if lan.Gateway.IsValid() && !p.Masked().Contains(lan.Gateway.Addr) {
			lan.Gateway = config.Addr{}
		}
		lan.Mode, lan.Address = config.ModeStatic, config.PrefixFrom(p)
	}
	c = clone(c)
	if i >= 0 {
		c.Interfaces[i] = lan
	} else {
		c.Interfaces = append(c.Interfaces, lan)
	}
	return c, nil
}

// AssignRoles binds WAN and LAN to NICs by MAC; an empty lanMAC leaves
// LAN to the next NIC in PCI order (none on a one-NIC box).
func AssignRoles(c config.Config, wanMAC, lanMAC string) (config.Config, error) {
	if wanMAC == "" {
		return c, fmt.Errorf("no NIC chosen for WAN")
	}
	if strings.EqualFold(wanMAC, lanMAC) {
		return c, fmt.Errorf("WAN and LAN cannot be the same NIC (%s)", wanMAC)
	}
	for _, m := range []string{wanMAC, lanMAC} {
		if m == "" {
			continue
		}
		if _, err := net.ParseMAC(m); err != nil {
			return c, fmt.Errorf("%q is not a MAC address", m)
		}
	}
	c = clone(c)
	for _, r := range []struct {
		role config.Role
		mac  string
	}{{config.RoleWAN, wanMAC}, {config.RoleLAN, lanMAC}} {
		i := ifaceIndex(c, r.role)
		if i < 0 {
			c.Interfaces = append(c.Interfaces, config.Interface{Role: r.role})
			i = len(c.Interfaces) - 1
		}
		c.Interfaces[i].MAC = strings.ToLower(r.mac)
	}
	return c, nil
}

// ResetAdmin returns c without an admin password: the box goes back to
// setup mode and shows a new setup code.
func ResetAdmin(c config.Config) config.Config {
	c = clone(c)
	c.Admin.PasswordHash = config.Secret{}
	return c
}

func ifaceIndex(c config.Config, r config.Role) int {
	for i, ifc := range c.Interfaces {
		if ifc.Role == r {
			return i
		}
	}
	return -1
}

// clone copies the interface list, the only part these edits change.
func clone(c config.Config) config.Config {
	c.Interfaces = append([]config.Interface(nil), c.Interfaces...)
	return c
}
