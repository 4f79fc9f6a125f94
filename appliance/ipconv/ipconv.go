// Package ipconv converts between net's address types, which netlink
// speaks, and netip's, which the rest of the box uses.
package ipconv

import (
	"net"
	"net/netip"
)

// Prefix is n as a netip.Prefix, its host bits kept (an interface's
// address keeps them). An IPv4 address in 16 bytes (as netlink often
// gives it) becomes plain IPv4. ok is false for nil or a malformed n.
func Prefix(n *net.IPNet) (p netip.Prefix, ok bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// IPNet is p as a *net.IPNet, its host bits kept; mask p first
// (p.Masked()) for a network.
func IPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
