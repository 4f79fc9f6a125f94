package netconf

import (
	"net/netip"
	"slices"
)

// ManagementAddrs are the addresses the web UI listens on: the LAN NIC's,
// or with a single NIC the shared WAN NIC's (the firewall then limits the
// web ports to the allowed sources and refuses the peers). A WAN address
// of a box with a LAN never appears. IPv6 link-local and loopback
// addresses are left out: they need a zone and DHCP never gives them.
// The result is sorted, without repeats.
func (s Status) ManagementAddrs() []netip.Addr {
	var lan, shared []netip.Addr
	for _, i := range s.Interfaces {
		for _, p := range i.Addresses {
			a := p.Addr()
			if a.IsLinkLocalUnicast() || a.IsLoopback() {
				continue
			}
			switch {
			case i.Role == RoleLAN:
				lan = append(lan, a)
			case i.Role == RoleWAN && i.Shared:
				shared = append(shared, a)
			}
		}
	}
	out := lan
	if len(out) == 0 {
		out = shared
	}
	slices.SortFunc(out, func(x, y netip.Addr) int { return x.Compare(y) })
	return slices.Compact(out)
}
