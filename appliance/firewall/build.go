package firewall

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// Chain names. Base chains are named after their hooks.
const (
	chainPrerouting  = "prerouting"  // hook prerouting, priority mangle
	chainFromTunnel  = "from_tunnel" // decrypted packets, before routing
	chainMSSIn       = "mss_in"      // SYNs from tunnels
	chainIntercepts  = "intercepts"  // the diverter's TPROXY rules
	chainInput       = "input"       // hook input, priority filter, policy drop
	chainWANIn       = "wan_in"
	chainLANIn       = "lan_in"
	chainIPsecIn     = "ipsec_in"
	chainIPsecSrc    = "ipsec_src"   // source address against the SA's reqid
	chainForward     = "forward"     // hook forward, policy drop
	chainPostrouting = "postrouting" // hook postrouting, priority mangle
)

// Set names.
const (
	setWANIfs    = "wan_ifs"
	setLANIfs    = "lan_ifs"
	setXfrmIfs   = "xfrm_ifs"
	setPeers4    = "peers4"
	setPeers6    = "peers6"
	setMgmt4     = "mgmt4"
	setMgmt6     = "mgmt6"
	setRemote4   = "remote4"
	setRemote6   = "remote6"
	setMgmtPorts = "mgmt_ports"
	setIKEPorts  = "ike_ports"
	setFromAny4  = "from_any4" // every Source's networks
	setFromAny6  = "from_any6"
)

// sourceSets names the sets of one Source's networks.
func sourceSets(reqid uint32) (v4, v6 string) {
	return fmt.Sprintf("from_%d_4", reqid), fmt.Sprintf("from_%d_6", reqid)
}

// Build turns spec into the box's whole ruleset. It talks to no kernel.
func Build(spec Spec) (*Ruleset, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("firewall spec: %w", err)
	}
	rs := &Ruleset{}
	var xfrmNames []string
	for _, r := range spec.RouteInterfaces {
		xfrmNames = append(xfrmNames, r.Name)
	}
	rs.ifnameSet(setWANIfs, spec.WAN)
	rs.ifnameSet(setLANIfs, spec.LAN)
	rs.ifnameSet(setXfrmIfs, xfrmNames)
	rs.addrSets(setPeers4, setPeers6, spec.Peers)
	rs.prefixSets(setMgmt4, setMgmt6, spec.AllowedMgmtSources)
	rs.prefixSets(setRemote4, setRemote6, spec.RemoteNetworks)
	sources := spec.sources()
	var anySource []netip.Prefix
	for _, src := range sources {
		v4, v6 := sourceSets(src.ReqID)
		rs.prefixSets(v4, v6, src.Networks)
		anySource = append(anySource, src.Networks...)
	}
	if len(sources) > 0 {
		rs.prefixSets(setFromAny4, setFromAny6, anySource)
	}
	rs.portSet(setMgmtPorts, spec.webPorts())
	rs.portSet(setIKEPorts, []uint16{500, 4500})

	rs.chain(chainPrerouting, *nftables.ChainHookPrerouting, *nftables.ChainPriorityMangle, nftables.ChainPolicyAccept)
	rs.regularChain(chainFromTunnel)
	rs.regularChain(chainMSSIn)
	rs.regularChain(chainIntercepts)
	rs.chain(chainInput, *nftables.ChainHookInput, *nftables.ChainPriorityFilter, nftables.ChainPolicyDrop)
	rs.regularChain(chainIPsecIn)
	if len(sources) > 0 {
		rs.regularChain(chainIPsecSrc)
	}
	rs.regularChain(chainWANIn)
	rs.regularChain(chainLANIn)
	rs.chain(chainForward, *nftables.ChainHookForward, *nftables.ChainPriorityFilter, nftables.ChainPolicyDrop)
	rs.chain(chainPostrouting, *nftables.ChainHookPostrouting, *nftables.ChainPriorityMangle, nftables.ChainPolicyAccept)

	buildPrerouting(rs, spec)
	buildInput(rs, spec)
	buildForward(rs, spec)
	buildPostrouting(rs, spec)
	return rs, nil
}

// buildPrerouting: packets that came out of a tunnel get their SYN MSS
// clamped and, if they are for one of the router's intercepts, are handed
// to its transparent socket (TPROXY). Decrypted packets pass prerouting a
// second time with a secpath: that is where they are caught.
func buildPrerouting(rs *Ruleset, spec Spec) {
	rs.rule(chainPrerouting).secpath().jump(chainFromTunnel)
	rs.rule(chainPrerouting).iifnameSet(setXfrmIfs).jump(chainFromTunnel)

	if !spec.NoMSSClamp {
		rs.rule(chainFromTunnel).tcpSYN().jump(chainMSSIn)
		for _, ri := range spec.RouteInterfaces {
			if ri.MTU == 0 {
				continue
			}
			mss := uint16(ri.MTU - 40)
			rs.count(rs.rule(chainMSSIn).iifname(ri.Name).clampMSS(mss), "mss_clamp_in").ret()
		}
		rs.count(rs.rule(chainMSSIn).clampMSS(spec.mss()), "mss_clamp_in")
	}
	// A packet of a connection an intercept already accepted goes straight
	// to its socket; only new flows walk the intercept rules.
	rs.rule(chainFromTunnel).socketTransparent().markSet(TProxyMark).accept()
	rs.rule(chainFromTunnel).jump(chainIntercepts)
}

func buildInput(rs *Ruleset, spec Spec) {
	in := chainInput
	rs.count(rs.rule(in).iifLoopback(), "in_loopback").accept()
	rs.count(rs.rule(in).ctState(1), "in_invalid").drop() // 1: invalid
	// Whatever came out of a tunnel is judged by ipsec_in alone (goto: no
	// way back), so that with a single NIC decrypted traffic never reaches
	// the LAN rules of the interface it arrived on. It goes there before
	// the established rule: conntrack sees a running ping as established
	// from its second packet on, so a rate limit behind that rule would
	// count only each ping's first packet.
	rs.rule(in).secpath().goTo(chainIPsecIn)
	rs.rule(in).iifnameSet(setXfrmIfs).goTo(chainIPsecIn)
	// The same holds for ping on LAN: the echo requests beyond the rate
	// are dropped before conntrack's verdict can accept them.
	rate := uint64(spec.pingRate())
	rs.count(rs.rule(in).iifnameSet(setLANIfs).nfproto(false).icmpType(false, icmpEchoRequest, "echo-request").limitOver(rate, uint32(2*rate)), "in_lan_ping_drop").drop()
	rs.count(rs.rule(in).iifnameSet(setLANIfs).nfproto(true).icmpType(true, icmp6EchoReq, "echo-request").limitOver(rate, uint32(2*rate)), "in_lan_ping_drop").drop()
	rs.count(rs.rule(in).ctState(2, 4), "in_established").accept()
	rs.rule(in).iifnameSet(setWANIfs).jump(chainWANIn)
	rs.rule(in).iifnameSet(setLANIfs).jump(chainLANIn)
	// DHCP replies go to the broadcast or the offered address, which
	// conntrack cannot tie to the request; the ports are all we have.
	rs.count(rs.rule(in).nfproto(false).l4proto(unix.IPPROTO_UDP).port(unix.IPPROTO_UDP, false, 67, 67).port(unix.IPPROTO_UDP, true, 68, 68), "in_dhcp").accept()
	rs.count(rs.rule(in).nfproto(true).prefix(true, netip.MustParsePrefix("fe80::/10")).l4proto(unix.IPPROTO_UDP).port(unix.IPPROTO_UDP, false, 547, 547).port(unix.IPPROTO_UDP, true, 546, 546), "in_dhcp").accept()
	// NTP needs no rule: the box's queries go out from an ephemeral port
	// and conntrack accepts exactly their replies as established.
	// IPv6 cannot work without neighbour discovery; hop limit 255 proves
	// the packet was not routed.
	for _, t := range []struct {
		typ  byte
		name string
	}{{134, "nd-router-advert"}, {135, "nd-neighbor-solicit"}, {136, "nd-neighbor-advert"}} {
		rs.count(rs.rule(in).nfproto(true).hopLimit255().icmpType(true, t.typ, t.name), "in_icmpv6_nd").accept()
	}
	if spec.LogDrops {
		rs.rule(in).limit(5, 10).log("tunneler drop in: ")
	}
	rs.count(rs.rule(in), "in_drop").drop()

	// WAN: IKE and ESP, from configured peers only.
	for _, v6 := range []bool{false, true} {
		peers := setPeers4
		if v6 {
			peers = setPeers6
		}
		rs.count(rs.rule(chainWANIn).nfproto(v6).addrSet(v6, true, false, peers).l4proto(unix.IPPROTO_UDP).dportSet(unix.IPPROTO_UDP, setIKEPorts), "in_ike").accept()
		rs.count(rs.rule(chainWANIn).nfproto(v6).addrSet(v6, true, false, peers).l4proto(unix.IPPROTO_ESP), "in_esp").accept()
	}

	// LAN: the web UI (and metrics) and ICMP echo.
	if spec.SingleNIC {
		rs.rule(chainLANIn).nfproto(false).addrSet(false, true, false, setPeers4).ret()
		rs.rule(chainLANIn).nfproto(true).addrSet(true, true, false, setPeers6).ret()
	}
	if len(spec.AllowedMgmtSources) > 0 {
		rs.rule(chainLANIn).nfproto(false).addrSet(false, true, true, setMgmt4).ret()
		rs.rule(chainLANIn).nfproto(true).addrSet(true, true, true, setMgmt6).ret()
	}
	rs.count(rs.rule(chainLANIn).l4proto(unix.IPPROTO_TCP).dportSet(unix.IPPROTO_TCP, setMgmtPorts), "in_mgmt").accept()
	// Echo requests beyond the rate were dropped in input already.
	rs.count(rs.rule(chainLANIn).nfproto(false).icmpType(false, icmpEchoRequest, "echo-request"), "in_lan_ping").accept()
	rs.count(rs.rule(chainLANIn).nfproto(true).icmpType(true, icmp6EchoReq, "echo-request"), "in_lan_ping").accept()

	// From a tunnel: the router's intercepts, the resolver and ping on the
	// inside address, replies to the box's own traffic, and nothing else.
	ip := chainIPsecIn
	if len(spec.RemoteNetworks) > 0 {
		rs.count(rs.rule(ip).nfproto(false).addrSet(false, true, true, setRemote4), "in_ipsec_drop").drop()
		rs.count(rs.rule(ip).nfproto(true).addrSet(true, true, true, setRemote6), "in_ipsec_drop").drop()
	}
	buildSourceCheck(rs, spec.sources())
	// Ping is judged before the established rule (see buildInput): one
	// bucket for all tunnels, PingRate a second with a burst of twice that.
	if a := spec.InsideAddr; a.IsValid() {
		a = a.Unmap()
		typ := byte(icmpEchoRequest)
		if a.Is6() {
			typ = icmp6EchoReq
		}
		rs.count(rs.rule(ip).nfproto(a.Is6()).addr(false, a).icmpType(a.Is6(), typ, "echo-request").limitOver(rate, uint32(2*rate)), "in_ipsec_ping_drop").drop()
		rs.count(rs.rule(ip).nfproto(a.Is6()).addr(false, a).icmpType(a.Is6(), typ, "echo-request"), "in_ipsec_ping").accept()
	}
	rs.count(rs.rule(ip).ctState(2, 4), "in_ipsec_established").accept()
	rs.count(rs.rule(ip).markMatch(TProxyMark), "in_ipsec_intercept").accept()
	if a := spec.InsideAddr; a.IsValid() {
		a = a.Unmap()
		for _, p := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
			rs.count(rs.rule(ip).nfproto(a.Is6()).addr(false, a).l4proto(p).port(p, true, spec.dnsPort(), spec.dnsPort()), "in_ipsec_dns").accept()
		}
	}
	if spec.LogDrops {
		rs.rule(ip).limit(5, 10).log("tunneler drop ipsec: ")
	}
	rs.count(rs.rule(ip), "in_ipsec_drop").drop()
}

// buildSourceCheck sends packets from a Source's networks to ipsec_src,
// which lets them on only if an SA of that source's reqid decrypted them.
// The check is positive (return on the right reqid, then drop), so a
// packet with no SA at all, which no reqid matches, is dropped too.
func buildSourceCheck(rs *Ruleset, sources []Source) {
	if len(sources) == 0 {
		return
	}
	rs.rule(chainIPsecIn).nfproto(false).addrSet(false, true, false, setFromAny4).jump(chainIPsecSrc)
	rs.rule(chainIPsecIn).nfproto(true).addrSet(true, true, false, setFromAny6).jump(chainIPsecSrc)
	for _, src := range sources {
		v4, v6 := sourceSets(src.ReqID)
		for _, fam := range []struct {
			v6  bool
			set string
		}{{false, v4}, {true, v6}} {
			if !hasFamily(src.Networks, fam.v6) {
				continue
			}
			rs.rule(chainIPsecSrc).nfproto(fam.v6).addrSet(fam.v6, true, false, fam.set).ipsecInReqid(src.ReqID).ret()
		}
	}
	rs.count(rs.rule(chainIPsecSrc), "in_ipsec_spoof").drop()
}

func hasFamily(ps []netip.Prefix, v6 bool) bool {
	for _, p := range ps {
		if p.Addr().Unmap().Is6() == v6 {
			return true
		}
	}
	return false
}

// buildForward: the box routes nothing. Intercepted flows are delivered
// locally (TPROXY plus the fwmark route), the inside address is local, so
// no tunnel, route-based or not, needs forwarding to reach the router; a
// packet here is a remote site trying to reach another site, the WAN or
// the LAN, and is dropped.
func buildForward(rs *Ruleset, spec Spec) {
	rs.count(rs.rule(chainForward).secpath(), "fwd_tunnel").drop()
	rs.count(rs.rule(chainForward).iifnameSet(setXfrmIfs), "fwd_tunnel").drop()
	if spec.LogDrops {
		rs.rule(chainForward).limit(5, 10).log("tunneler drop fwd: ")
	}
	rs.count(rs.rule(chainForward), "fwd_drop").drop()
}

// buildPostrouting clamps the MSS of SYNs (and SYN-ACKs) the box sends
// into a tunnel: to spec.MSS in policy mode, where the packet's route is
// an xfrm bundle, and to the route's MTU on xfrm interfaces.
func buildPostrouting(rs *Ruleset, spec Spec) {
	if spec.NoMSSClamp {
		return
	}
	rs.count(rs.rule(chainPostrouting).tcpSYN().rtIPsec().clampMSS(spec.mss()), "mss_clamp_out")
	rs.count(rs.rule(chainPostrouting).tcpSYN().oifnameSet(setXfrmIfs).clampMSSRoute(), "mss_clamp_out")
}

// DefaultDenyRuleset is the ruleset installed before any interface is up:
// loopback is allowed, every other packet in or through is dropped and
// counted. The box's own output is left alone: with no link up it goes
// nowhere, and the full ruleset replaces this one before any link is.
func DefaultDenyRuleset() *Ruleset {
	rs := &Ruleset{}
	rs.chain(chainInput, *nftables.ChainHookInput, *nftables.ChainPriorityFilter, nftables.ChainPolicyDrop)
	rs.chain(chainForward, *nftables.ChainHookForward, *nftables.ChainPriorityFilter, nftables.ChainPolicyDrop)
	rs.count(rs.rule(chainInput).iifLoopback(), "in_loopback").accept()
	rs.count(rs.rule(chainInput), "in_drop").drop()
	rs.count(rs.rule(chainForward), "fwd_drop").drop()
	return rs
}
