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
