// Package firewall programs the box's whole nftables ruleset over netlink:
// one table of ours ("tunneler", family inet), replaced in one transaction,
// plus the TPROXY intercepts the ziti router asks for through the diverter.
// It never runs iptables or nft: the image carries neither.
//
// At boot, init calls DefaultDeny before any link is up, then Apply with a
// Spec the apply step fills from the config, and again on every config
// change. Before each router start it calls FlushIntercepts; the router
// then runs our binary as its diverter (RunDiverter), which adds and
// removes TPROXY rules and ensures the fwmark route they need
// (EnsureTProxyRoute). Counters feeds the status page and metrics.
//
// The table:
//
//	prerouting (mangle)  out of a tunnel (secpath, or an xfrm interface)
//	                     -> from_tunnel: clamp SYN MSS (mss_in), existing
//	                     transparent socket -> mark, else intercepts
//	intercepts           the diverter's rules, one per router tuple
//	input (drop)         lo, ct, out of a tunnel -> ipsec_in (goto: never
//	                     the LAN rules), WAN -> wan_in, LAN -> lan_in, DHCP,
//	                     IPv6 ND, counted drop
//	ipsec_src            from a Source's networks: return only through an
//	                     SA of its reqid (ipsec in reqid N), else counted
//	                     drop (in_ipsec_spoof); the xfrm expression comes
//	                     from internal/nftxfrm
//	forward (drop)       nothing is routed; counted by cause
//	postrouting (mangle) clamp SYN MSS into tunnels
//
// Apply deletes and rebuilds the whole table in one batch, rather than
// patching chains, so a ruleset can never be left half old, half new, and
// sets, chains or counters the new spec no longer has disappear with it.
// The intercepts are the one part not derived from the spec: Apply reads
// them back (each rule carries its tuple in its comment) and re-adds them
// in the same batch, under a file lock (LockPath) the diverter also takes,
// so no diverter call can fall between the read and the commit.
//
// Kernel tests (root) need the Debian packages iproute2 (ip), iputils-ping
// (ping) and nftables (nft, only to inspect and to plant a foreign table):
//
//	go test ./appliance/firewall/                      # unit + kernel
//	go test -run '^$' -bench . ./appliance/firewall/   # Apply and input-hook benchmarks
package firewall
