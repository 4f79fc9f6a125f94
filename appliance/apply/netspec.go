package apply

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/netconf"
)

// NetSpec is the network the config asks for. Defaults are filled first, so
// a config that says nothing about interfaces gives netconf.DefaultSpec's
// shape: first NIC WAN, second LAN, both on DHCP.
func NetSpec(c config.Config) (netconf.Spec, error) {
	c = c.WithDefaults()
	spec := netconf.Spec{Hostname: c.System.Hostname, NTPServers: c.System.NTPServers}
	if len(spec.NTPServers) == 0 {
		spec.NTPServers = netconf.DefaultNTPServers()
	}
	for _, ci := range c.Interfaces {
		is := netconf.IfaceSpec{Role: netconf.Role(ci.Role), DHCP: ci.Mode == config.ModeDHCP}
		if ci.MAC != "" {
			mac, err := net.ParseMAC(ci.MAC)
			if err != nil {
				return netconf.Spec{}, fmt.Errorf("interface %s: MAC %q: %w", ci.Role, ci.MAC, err)
			}
			is.MAC = mac
		}
		if ci.Mode == config.ModeStatic {
			if !ci.Address.IsValid() {
				return netconf.Spec{}, fmt.Errorf("interface %s: static mode needs an address", ci.Role)
			}
			is.Addresses = []netip.Prefix{ci.Address.Prefix}
		}
		if ci.Gateway.IsValid() {
			is.Gateway = ci.Gateway.Addr
		}
		if ci.Role == config.RoleWAN {
			is.IPv6 = ipv6Mode(ci.IPv6)
			if ci.IPv6 == config.IPv6Static && ci.IPv6Address.IsValid() {
				is.Addresses = append(is.Addresses, ci.IPv6Address.Prefix)
				is.Gateway6 = ci.IPv6Gateway.Addr
			}
		}
		for _, d := range ci.DNS {
			if d.IsValid() {
				is.DNS = append(is.DNS, d.Addr)
			}
		}
		spec.Interfaces = append(spec.Interfaces, is)
	}
	if err := spec.Validate(); err != nil {
		return netconf.Spec{}, err
	}
	return spec, nil
}

// ipv6Mode maps the config's IPv6 mode onto netconf's; off (or empty, or
// anything validation would have refused) is off.
func ipv6Mode(m config.IPv6Mode) netconf.IPv6Mode {
	switch m {
	case config.IPv6SLAAC:
		return netconf.IPv6SLAAC
	case config.IPv6DHCPv6:
		return netconf.IPv6DHCP
	case config.IPv6Static:
		return netconf.IPv6Static
	}
	return netconf.IPv6Off
}
