package netconf

import (
	"net/netip"
	"sort"
)

// linkAddr is an address on a link.
type linkAddr struct {
	Link   int
	Prefix netip.Prefix
}

// routeKey identifies a route the manager installs: Dst via Gw out of Link,
// in the main table.
type routeKey struct {
	Link int
	Dst  netip.Prefix
	Gw   netip.Addr
	// OnLink is set when Gw lies outside the link's networks (a /32 lease).
	OnLink bool
	// DHCP marks routes learnt from a lease (route protocol "dhcp").
	DHCP bool
}

// id is what identifies a route in the kernel: the on-link flag is how it
// was added, not which route it is. DHCP stays: it is the route protocol.
func (r routeKey) id() routeKey { r.OnLink = false; return r }

// desired is the kernel state the manager wants.
type desired struct {
	Addrs  map[linkAddr]bool
	Routes map[routeKey]bool
	DNS    []netip.Addr
	Search []string
}

// ifaceState is what desiredState needs to know about one bound interface.
type ifaceState struct {
	Role     Role
	Link     int
	Spec     IfaceSpec
	Lease    *Lease
	Lease6   *Lease6
	Fallback bool
}

// desiredState computes addresses, routes and resolvers from the bound
// interfaces. It is pure so the rules are tested without a kernel:
//   - static addresses always, the lease address when there is one, the
//     fallback address only while there is no lease; the DHCPv6 address
//     when there is one;
//   - the static IPv6 default route, from WAN only (SLAAC's and
//     DHCPv6's come from router advertisements, which the kernel owns);
//   - one default route, from WAN only: the static gateway, else the DHCP
//     router;
//   - DNS: WAN's static servers, WAN's lease servers, then LAN's, without
//     repeats.
func desiredState(ifs []ifaceState) desired {
	d := desired{Addrs: map[linkAddr]bool{}, Routes: map[routeKey]bool{}}
	sort.SliceStable(ifs, func(i, j int) bool { return ifs[i].Role == RoleWAN && ifs[j].Role != RoleWAN })
	seenDNS := map[netip.Addr]bool{}
	addDNS := func(as []netip.Addr) {
		for _, a := range as {
			if a.IsValid() && !seenDNS[a] {
				seenDNS[a] = true
				d.DNS = append(d.DNS, a)
			}
		}
	}
	for _, s := range ifs {
		var onLink []netip.Prefix
		for _, p := range s.Spec.Addresses {
			d.Addrs[linkAddr{s.Link, p}] = true
			onLink = append(onLink, p)
		}
		if s.Lease != nil {
			d.Addrs[linkAddr{s.Link, s.Lease.Address}] = true
			onLink = append(onLink, s.Lease.Address)
		} else if s.Fallback {
			d.Addrs[linkAddr{s.Link, FallbackPrefix}] = true
		}
		if s.Lease6 != nil {
			d.Addrs[linkAddr{s.Link, s.Lease6.Address}] = true
		}
		if gw := s.Spec.Gateway6; s.Role == RoleWAN && gw.IsValid() && s.Spec.IPv6 == IPv6Static {
			d.Routes[routeKey{Link: s.Link, Dst: netip.PrefixFrom(netip.IPv6Unspecified(), 0), Gw: gw}] = true
		}
		if s.Role == RoleWAN {
			gw, fromDHCP := s.Spec.Gateway, false
			if !gw.IsValid() && s.Lease != nil && s.Lease.Router.IsValid() {
				gw, fromDHCP = s.Lease.Router, true
			}
			if gw.IsValid() {
				dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
				if gw.Is6() {
					dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
				}
				d.Routes[routeKey{Link: s.Link, Dst: dst, Gw: gw,
					OnLink: gw.Is4() && !anyContains(onLink, gw), DHCP: fromDHCP}] = true
			}
		}
		addDNS(s.Spec.DNS)
		if s.Lease6 != nil {
			addDNS(s.Lease6.DNS)
			for _, dom := range s.Lease6.Search {
				if dom != "" && !contains(d.Search, dom) {
					d.Search = append(d.Search, dom)
				}
			}
		}
		if s.Lease != nil {
			addDNS(s.Lease.DNS)
			for _, dom := range append([]string{s.Lease.Domain}, s.Lease.Search...) {
				if dom != "" && !contains(d.Search, dom) {
					d.Search = append(d.Search, dom)
				}
			}
		}
	}
	return d
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// addrPlan says which addresses to remove and add. have is what the kernel
// holds, owned what the manager added earlier. Only owned addresses are
// ever removed, and only desired ones missing from the kernel are added.
func addrPlan(have, owned, want map[linkAddr]bool) (del, add []linkAddr) {
	for a := range owned {
		if !want[a] && have[a] {
			del = append(del, a)
		}
	}
	for a := range want {
		if !have[a] {
			add = append(add, a)
		}
	}
	sortAddrs(del)
	sortAddrs(add)
	return del, add
}

// routePlan is addrPlan for routes, keyed by routeKey.id().
func routePlan(have, owned map[routeKey]bool, want map[routeKey]bool) (del, add []routeKey) {
	wantID := map[routeKey]bool{}
	for r := range want {
		wantID[r.id()] = true
	}
	for r := range owned {
		if !wantID[r.id()] && have[r.id()] {
			del = append(del, r)
		}
	}
	for r := range want {
		if !have[r.id()] {
			add = append(add, r)
		}
	}
	sortRoutes(del)
	sortRoutes(add)
	return del, add
}

func sortAddrs(as []linkAddr) {
	sort.Slice(as, func(i, j int) bool {
		if as[i].Link != as[j].Link {
			return as[i].Link < as[j].Link
		}
		return as[i].Prefix.String() < as[j].Prefix.String()
	})
}

func sortRoutes(rs []routeKey) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Link != rs[j].Link {
			return rs[i].Link < rs[j].Link
		}
		return rs[i].Dst.String()+rs[i].Gw.String() < rs[j].Dst.String()+rs[j].Gw.String()
	})
}
