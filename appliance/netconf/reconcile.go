package netconf

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/tunneler/tunneler/appliance/ipconv"
)

// reconcile makes addresses, routes and resolv.conf match the bound
// interfaces, touching only what differs. Called with m.mu held.
func (m *Manager) reconcile(writeDNS bool) []error {
	var states []ifaceState
	for _, f := range m.ifaces {
		states = append(states, ifaceState{Role: f.role, Link: f.nic.Index, Spec: f.spec, Lease: f.lease, Fallback: f.fallback})
	}
	want := desiredState(states)
	var errs []error

	links, err := retryDump(m.k.LinkList)
	if err != nil {
		return []error{fmt.Errorf("list links: %w", err)}
	}
	byIndex := map[int]netlink.Link{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l
	}
	involved := map[int]bool{}
	for a := range m.ownedAddrs {
		involved[a.Link] = true
	}
	for r := range m.ownedRoutes {
		involved[r.Link] = true
	}
	for a := range want.Addrs {
		involved[a.Link] = true
	}
	for r := range want.Routes {
		involved[r.Link] = true
	}
	// Routes are read again after the addresses changed: removing an
	// address takes the routes through its network with it.
	readRoutes := func() (map[routeKey]bool, error) {
		have := map[routeKey]bool{}
		for idx := range involved {
			l := byIndex[idx]
			if l == nil {
				continue
			}
			rs, err := linkRoutes(m.k, l)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				have[r] = true
			}
		}
		return have, nil
	}
	haveA := map[linkAddr]bool{}
	for idx := range involved {
		l := byIndex[idx]
		if l == nil { // the link is gone, and with it what we put on it
			onAddr := func(a linkAddr, _ bool) bool { return a.Link == idx }
			onRoute := func(r routeKey, _ bool) bool { return r.Link == idx }
			maps.DeleteFunc(m.ownedAddrs, onAddr)
			maps.DeleteFunc(m.ownedRoutes, onRoute)
			maps.DeleteFunc(want.Addrs, onAddr)
			maps.DeleteFunc(want.Routes, onRoute)
			delete(involved, idx)
			continue
		}
		as, err := linkAddrs(m.k, l)
		if err != nil {
			return append(errs, err)
		}
		for _, p := range as {
			haveA[linkAddr{idx, p}] = true
		}
	}
	name := func(idx int) (string, Role) {
		for _, f := range m.ifaces {
			if f.nic.Index == idx {
				return f.nic.Name, f.role
			}
		}
		if l := byIndex[idx]; l != nil {
			return l.Attrs().Name, ""
		}
		return fmt.Sprint(idx), ""
	}
	wantID := map[routeKey]bool{}
	for r := range want.Routes {
		wantID[r.id()] = true
	}
	// forgetGone drops what we added that went away by itself and is no
	// longer wanted.
	forgetGone := func(haveR map[routeKey]bool) {
		for a := range m.ownedAddrs {
			if !want.Addrs[a] && !haveA[a] {
				delete(m.ownedAddrs, a)
			}
		}
		for r := range m.ownedRoutes {
			if !wantID[r.id()] && !haveR[r.id()] {
				delete(m.ownedRoutes, r)
			}
		}
	}

	haveR, err := readRoutes()
	if err != nil {
		return append(errs, err)
	}
	delR, _ := routePlan(haveR, m.ownedRoutes, want.Routes)
	delA, addA := addrPlan(haveA, m.ownedAddrs, want.Addrs)
	forgetGone(haveR)
	for _, r := range delR {
		n, role := name(r.Link)
		if err := m.k.RouteDel(toRoute(r)); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("remove route %v via %v on %s: %w", r.Dst, r.Gw, n, err))
			continue
		}
		delete(m.ownedRoutes, r)
		m.emit(n, role, "route", "removed %v via %v", r.Dst, r.Gw)
	}
	for _, a := range delA {
		n, role := name(a.Link)
		if err := m.k.AddrDel(byIndex[a.Link], &netlink.Addr{IPNet: ipconv.IPNet(a.Prefix)}); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("remove address %v from %s: %w", a.Prefix, n, err))
			continue
		}
		delete(m.ownedAddrs, a)
		delete(haveA, a)
		m.emit(n, role, "address", "removed %v", a.Prefix)
	}
	for _, a := range addA {
		n, role := name(a.Link)
		err := m.k.AddrAdd(byIndex[a.Link], &netlink.Addr{IPNet: ipconv.IPNet(a.Prefix)})
		if errors.Is(err, unix.EEXIST) {
			continue // someone else's; not ours to remove later
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("add address %v to %s: %w", a.Prefix, n, err))
			continue
		}
		m.ownedAddrs[a] = true
		haveA[a] = true
		m.emit(n, role, "address", "added %v", a.Prefix)
	}
	if len(delA)+len(addA) > 0 {
		if haveR, err = readRoutes(); err != nil {
			return append(errs, err)
		}
		forgetGone(haveR)
	}
	_, addR := routePlan(haveR, m.ownedRoutes, want.Routes)
	for _, r := range addR {
		n, role := name(r.Link)
		err := m.k.RouteAdd(toRoute(r))
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("add route %v via %v on %s: %w", r.Dst, r.Gw, n, err))
			continue
		}
		m.ownedRoutes[r] = true
		m.emit(n, role, "route", "added %v via %v", r.Dst, r.Gw)
	}

	if writeDNS && (!m.dnsWritten || !slices.Equal(want.DNS, m.dns) || !slices.Equal(want.Search, m.search)) {
		if err := writeFileAtomic(m.opts.ResolvConf, resolvConf(want.DNS, want.Search), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", m.opts.ResolvConf, err))
		} else {
			m.dns, m.search, m.dnsWritten = want.DNS, want.Search, true
			m.emit("", "", "dns", "resolvers %v search %v", want.DNS, want.Search)
		}
	}
	return errs
}
