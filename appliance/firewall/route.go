package firewall

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// tproxyRulePriority puts the fwmark rule ahead of the main table (32766).
const tproxyRulePriority = 100

// EnsureTProxyRoute installs what TPROXY needs from routing, idempotently:
// the rule `fwmark TProxyMark/TProxyMark lookup TProxyTable` and, in that
// table, `local 0.0.0.0/0 dev lo`. Without them a marked packet for an
// intercepted address that is not the box's own would be forwarded (and
// dropped by forward) instead of delivered to the router's socket.
func EnsureTProxyRoute(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("tproxy route: find lo: %w", err)
	}
	_, all, _ := net.ParseCIDR("0.0.0.0/0")
	route := &netlink.Route{
		LinkIndex: lo.Attrs().Index,
		Dst:       all,
		Table:     TProxyTable,
		Type:      unix.RTN_LOCAL,
		Scope:     netlink.SCOPE_HOST,
	}
	if err := h.RouteReplace(route); err != nil {
		return fmt.Errorf("tproxy route: local default dev lo table %d: %w", TProxyTable, err)
	}
	rules, err := h.RuleList(netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("tproxy route: list rules: %w", err)
	}
	for _, r := range rules {
		if r.Table == TProxyTable && r.Mark == TProxyMark && r.Mask != nil && *r.Mask == TProxyMark && !r.Invert {
			return nil
		}
	}
	rule := netlink.NewRule()
	rule.Family = netlink.FAMILY_V4
	rule.Priority = tproxyRulePriority
	rule.Table = TProxyTable
	rule.Mark = TProxyMark
	mask := TProxyMark
	rule.Mask = &mask
	if err := h.RuleAdd(rule); err != nil {
		return fmt.Errorf("tproxy route: add rule fwmark 0x%x lookup %d: %w", TProxyMark, TProxyTable, err)
	}
	return nil
}
