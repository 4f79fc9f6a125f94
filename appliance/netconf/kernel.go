package netconf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/tunneler/tunneler/appliance/ipconv"
)

// kernel is the part of netlink the manager uses; *netlink.Handle has it,
// and tests can fake it.
type kernel interface {
	LinkList() ([]netlink.Link, error)
	LinkSetUp(netlink.Link) error
	AddrList(netlink.Link, int) ([]netlink.Addr, error)
	AddrAdd(netlink.Link, *netlink.Addr) error
	AddrDel(netlink.Link, *netlink.Addr) error
	RouteListFiltered(int, *netlink.Route, uint64) ([]netlink.Route, error)
	RouteAdd(*netlink.Route) error
	RouteDel(*netlink.Route) error
}

// retryDump repeats a netlink dump the kernel interrupted because the table
// changed under it.
func retryDump[T any](f func() ([]T, error)) ([]T, error) {
	var (
		out []T
		err error
	)
	for range 5 {
		out, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, err
}

// linkAddrs reads the addresses the kernel holds on a link.
func linkAddrs(k kernel, l netlink.Link) ([]netip.Prefix, error) {
	as, err := retryDump(func() ([]netlink.Addr, error) { return k.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", l.Attrs().Name, err)
	}
	var out []netip.Prefix
	for _, a := range as {
		if p, ok := ipconv.Prefix(a.IPNet); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// linkRoutes reads the main-table routes out of a link.
func linkRoutes(k kernel, l netlink.Link) ([]routeKey, error) {
	filter := &netlink.Route{LinkIndex: l.Attrs().Index, Table: unix.RT_TABLE_MAIN}
	rs, err := retryDump(func() ([]netlink.Route, error) {
		return k.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("list routes of %s: %w", l.Attrs().Name, err)
	}
	var out []routeKey
	for _, r := range rs {
		dst, ok := ipconv.Prefix(r.Dst)
		if !ok { // default route
			if r.Family == netlink.FAMILY_V6 {
				dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
			} else {
				dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
			}
		}
		var gw netip.Addr
		if g, ok := netip.AddrFromSlice(r.Gw); ok {
			gw = g.Unmap()
		}
		out = append(out, routeKey{Link: r.LinkIndex, Dst: dst, Gw: gw, DHCP: r.Protocol == unix.RTPROT_DHCP})
	}
	return out, nil
}

func toRoute(r routeKey) *netlink.Route {
	nr := &netlink.Route{
		LinkIndex: r.Link,
		Dst:       ipconv.IPNet(r.Dst),
		Gw:        net.IP(r.Gw.AsSlice()),
		Table:     unix.RT_TABLE_MAIN,
		Protocol:  unix.RTPROT_STATIC,
	}
	if r.DHCP {
		nr.Protocol = unix.RTPROT_DHCP
	}
	if r.OnLink {
		nr.Flags = int(netlink.FLAG_ONLINK)
	}
	return nr
}

// gone reports errors that mean "already not there".
func gone(err error) bool {
	return errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EADDRNOTAVAIL)
}
