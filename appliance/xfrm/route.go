package xfrm

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/tunneler/tunneler/appliance/ipconv"
)

// Route is one route we want in RouteTable.
type Route struct {
	Tunnel string
	Dst    netip.Prefix
	Src    netip.Addr // inside address, when of Dst's family
	Link   int        // outgoing interface index
	Gw     netip.Addr // next hop (policy mode), zero for route mode
}

// wantRoutes resolves where each tunnel's routes go. Policy mode sends them
// toward the peer's next hop (looked up outside our table), route mode into
// the tunnel's xfrm interface.
func (m *Manager) wantRoutes(d Desired) ([]Route, error) {
	var out []Route
	var errs []error
	for _, t := range d.Tunnels {
		if len(t.Routes) == 0 {
			continue
		}
		var link int
		var gw netip.Addr
		if t.Route {
			l, err := m.h.LinkByName(InterfaceName(t.IfID))
			if err != nil {
				errs = append(errs, fmt.Errorf("tunnel %q: routes need %s: %w", t.Name, InterfaceName(t.IfID), err))
				continue
			}
			link = l.Attrs().Index
		} else {
			rs, err := m.h.RouteGetWithOptions(net.IP(t.Peer.AsSlice()), &netlink.RouteGetOptions{})
			if err != nil || len(rs) == 0 {
				errs = append(errs, fmt.Errorf("tunnel %q: no route to peer %s: %v", t.Name, t.Peer, err))
				continue
			}
			link = rs[0].LinkIndex
			gw, _ = addrOf(rs[0].Gw)
		}
		for _, p := range t.Routes {
			r := Route{Tunnel: t.Name, Dst: p.Masked(), Link: link, Gw: gw}
			if d.InsideAddress.IsValid() && d.InsideAddress.Unmap().Is4() == p.Addr().Unmap().Is4() {
				r.Src = d.InsideAddress.Unmap()
			}
			if gw.IsValid() && gw.Is4() != p.Addr().Unmap().Is4() {
				r.Gw = netip.Addr{} // no next hop of that family: on-link
			}
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

func (r Route) toNetlink() *netlink.Route {
	nr := &netlink.Route{
		Dst:       ipconv.IPNet(r.Dst.Masked()),
		LinkIndex: r.Link,
		Table:     RouteTable,
		Protocol:  RouteProtocol,
	}
	if r.Src.IsValid() {
		nr.Src = net.IP(r.Src.AsSlice())
	}
	if r.Gw.IsValid() {
		nr.Gw = net.IP(r.Gw.AsSlice())
	}
	return nr
}

func routeFrom(k netlink.Route) Route {
	r := Route{Link: k.LinkIndex}
	r.Dst, _ = ipconv.Prefix(k.Dst)
	r.Src, _ = addrOf(k.Src)
	r.Gw, _ = addrOf(k.Gw)
	return r
}

// sameRoute compares the kernel-visible parts.
func sameRoute(a, b Route) bool {
	a.Tunnel, b.Tunnel = "", ""
	return a == b
}

func (m *Manager) applyRoutes(d Desired) (added, deleted []netip.Prefix, err error) {
	want, werr := m.wantRoutes(d)
	errs := []error{werr}
	if err := m.ensureRules(); err != nil {
		errs = append(errs, err)
	}
	have, err := m.OwnedRoutes()
	if err != nil {
		return nil, nil, errors.Join(append(errs, err)...)
	}
	byDst := map[netip.Prefix]Route{}
	for _, h := range have {
		byDst[h.Dst] = h
	}
	wanted := map[netip.Prefix]bool{}
	for _, w := range want {
		if wanted[w.Dst] {
			errs = append(errs, fmt.Errorf("tunnel %q: route %s is already routed into another tunnel", w.Tunnel, w.Dst))
			continue
		}
		wanted[w.Dst] = true
		if h, ok := byDst[w.Dst]; ok && sameRoute(h, w) {
			continue
		}
		if err := m.h.RouteReplace(w.toNetlink()); err != nil {
			errs = append(errs, fmt.Errorf("tunnel %q: route %s: %w", w.Tunnel, w.Dst, err))
			continue
		}
		added = append(added, w.Dst)
	}
	// A tunnel whose routes could not be resolved (peer unreachable for
	// now) keeps its old routes rather than losing them.
	for _, h := range have {
		if wanted[h.Dst] || m.routeOfUnresolved(d, want, h) {
			continue
		}
		if err := m.h.RouteDel(h.toNetlink()); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("remove route %s: %w", h.Dst, err))
			continue
		}
		deleted = append(deleted, h.Dst)
	}
	slices.SortFunc(added, comparePrefix)
	slices.SortFunc(deleted, comparePrefix)
	return added, deleted, errors.Join(errs...)
}

// routeOfUnresolved reports whether h belongs to a desired tunnel whose
// routes could not be resolved this time.
func (m *Manager) routeOfUnresolved(d Desired, want []Route, h Route) bool {
	resolved := map[string]bool{}
	for _, w := range want {
		resolved[w.Tunnel] = true
	}
	for _, t := range d.Tunnels {
		if resolved[t.Name] {
			continue
		}
		if slices.ContainsFunc(t.Routes, func(p netip.Prefix) bool { return p.Masked() == h.Dst }) {
			return true
		}
	}
	return false
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// OwnedRoutes lists our routes in RouteTable.
func (m *Manager) OwnedRoutes() ([]Route, error) {
	filter := &netlink.Route{Table: RouteTable, Protocol: RouteProtocol}
	rs, err := m.h.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return nil, fmt.Errorf("list routes in table %d: %w", RouteTable, err)
	}
	var out []Route
	for _, k := range rs {
		out = append(out, routeFrom(k))
	}
	return out, nil
}

// ensureRules adds "priority RulePriority lookup RouteTable" for IPv4 and
// IPv6 unless present. The rule stays when tunnels go: an empty table
// costs nothing.
func (m *Manager) ensureRules() error {
	var errs []error
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rules, err := m.h.RuleList(fam)
		if err != nil {
			errs = append(errs, fmt.Errorf("list rules: %w", err))
			continue
		}
		if slices.ContainsFunc(rules, func(r netlink.Rule) bool {
			return r.Priority == RulePriority && r.Table == RouteTable
		}) {
			continue
		}
		r := netlink.NewRule()
		r.Family = fam
		r.Priority = RulePriority
		r.Table = RouteTable
		if err := m.h.RuleAdd(r); err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("add rule lookup %d: %w", RouteTable, err))
		}
	}
	return errors.Join(errs...)
}
