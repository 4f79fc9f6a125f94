package xfrm

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/appliance/ipconv"
)

// Ownership markers (see the package comment).
const (
	PriorityMin = 1000
	PriorityMax = 1999
	// RouteTable is where routes to remote networks live (strongSwan's
	// table number, so operators recognise it).
	RouteTable = 220
	// RulePriority is the priority of the one ip rule that sends lookups to
	// RouteTable; below the main table's 32766 so tunnel routes win.
	RulePriority = 220
	// RouteProtocol marks our routes (rtm_protocol); unused by others.
	RouteProtocol = 201
)

// Tunnel is what XFRM needs to know of one configured tunnel.
type Tunnel struct {
	Name string
	// ReqID is the CHILD_SA's fixed reqid; charon gets the same number
	// (ipsec.ReqIDs hands them out), so its SAs match these templates.
	ReqID uint32
	// Local and Peer are the outer (tunnel) endpoints. A zero Local is a
	// wildcard: the kernel picks the source by route, and inbound checks
	// accept any. Peer must be an address: resolve DNS names first.
	Local, Peer netip.Addr
	// LocalNets and RemoteNets are the traffic selectors (policy mode).
	LocalNets, RemoteNets []netip.Prefix
	// Route says route mode: policies 0/0 <-> 0/0 with IfID (per family in
	// use), an xfrm interface InterfaceName(IfID), and Routes through it.
	Route bool
	IfID  uint32
	// AnyPeerInbound is for the remotes of a site (config.Site): they
	// share selectors and one reqid, and only the active remote has
	// policies, but the remote site may send through any of them (its own
	// routing picks the device, and a standby's SA stays up). The in and
	// fwd templates then accept a tunnel-mode ESP SA from any source
	// address, but only with ReqID: the SAs of this site's remotes, never
	// another tunnel's, so no other peer can send with this site's
	// addresses. Clear text is dropped too: the template is not optional.
	// The out policy keeps the active remote's peer, which picks its SA.
	AnyPeerInbound bool
	// Routes are routed into the tunnel, with the inside address as
	// source. Policy mode: usually RemoteNets, sent toward Peer's next hop
	// so the out policy catches them. Route mode: sent to the interface.
	Routes []netip.Prefix
}

// Desired is the whole XFRM state of the box.
type Desired struct {
	Tunnels []Tunnel
	// InsideAddress (config.Router.InsideAddress) is the source of routed
	// traffic, so it matches the tunnels' local traffic selectors.
	InsideAddress netip.Addr
}

// InterfaceName names the xfrm interface of if_id id.
func InterfaceName(id uint32) string { return fmt.Sprintf("xfrm%d", id) }

// Policy is one XFRM policy we want, in comparable form.
type Policy struct {
	Tunnel   string // for messages only; not part of identity
	Dir      netlink.Dir
	Src, Dst netip.Prefix
	IfID     uint32
	Priority int
	// Template: tunnel mode ESP between TmplSrc and TmplDst with ReqID.
	TmplSrc, TmplDst netip.Addr
	ReqID            uint32
}

// key is what the kernel treats as one policy (selector, dir, if_id).
type key struct {
	Dir      netlink.Dir
	Src, Dst netip.Prefix
	IfID     uint32
}

func (p Policy) key() key { return key{p.Dir, p.Src, p.Dst, p.IfID} }

func (p Policy) String() string {
	s := fmt.Sprintf("%s %s -> %s tmpl %s -> %s reqid %d prio %d", p.Dir, p.Src, p.Dst, p.TmplSrc, p.TmplDst, p.ReqID, p.Priority)
	if p.IfID != 0 {
		s += fmt.Sprintf(" if_id %d", p.IfID)
	}
	return s
}

// priority ranks more specific selectors first inside our band.
func priority(src, dst netip.Prefix) int {
	return PriorityMin + 256 - src.Bits() - dst.Bits()
}

// Policies returns the policies the tunnels want: for each local/remote
// pair of the same family, out (local->remote), in and fwd (remote->local).
// The in/fwd templates swap the endpoints, as the inbound SA runs peer->us.
func Policies(tunnels []Tunnel) ([]Policy, error) {
	var out []Policy
	seen := map[key]string{}
	for _, t := range tunnels {
		if t.ReqID == 0 {
			return nil, fmt.Errorf("tunnel %q: no reqid", t.Name)
		}
		if !t.Peer.IsValid() {
			return nil, fmt.Errorf("tunnel %q: peer address not resolved", t.Name)
		}
		if t.Route && t.IfID == 0 {
			return nil, fmt.Errorf("tunnel %q: route mode needs an if_id", t.Name)
		}
		peer := t.Peer.Unmap()
		local := t.Local.Unmap()
		if !local.IsValid() {
			local = anyOf(peer)
		}
		if local.Is4() != peer.Is4() {
			return nil, fmt.Errorf("tunnel %q: local %s and peer %s differ in family", t.Name, local, peer)
		}
		lnets, rnets := t.LocalNets, t.RemoteNets
		var ifid uint32
		if t.Route {
			// The interface decides what enters the tunnel; the selectors
			// are wide open for every family the networks use.
			ifid = t.IfID
			lnets, rnets = nil, nil
			for _, fam := range families(append(slices.Clone(t.LocalNets), t.RemoteNets...)) {
				p := netip.PrefixFrom(fam, 0)
				lnets, rnets = append(lnets, p), append(rnets, p)
			}
		}
		for _, l := range lnets {
			for _, r := range rnets {
				l, r := l.Masked(), r.Masked()
				if l.Addr().Is4() != r.Addr().Is4() {
					continue
				}
				prio := priority(l, r)
				inSrc := peer
				if t.AnyPeerInbound {
					inSrc = anyOf(peer)
				}
				ps := []Policy{
					{t.Name, netlink.XFRM_DIR_OUT, l, r, ifid, prio, local, peer, t.ReqID},
					{t.Name, netlink.XFRM_DIR_IN, r, l, ifid, prio, inSrc, local, t.ReqID},
					{t.Name, netlink.XFRM_DIR_FWD, r, l, ifid, prio, inSrc, local, t.ReqID},
				}
				for _, p := range ps {
					if other, dup := seen[p.key()]; dup && other != t.Name {
						return nil, fmt.Errorf("tunnels %q and %q both want %s %s -> %s", other, t.Name, p.Dir, p.Src, p.Dst)
					}
					if _, dup := seen[p.key()]; dup {
						continue
					}
					seen[p.key()] = t.Name
					out = append(out, p)
				}
			}
		}
	}
	sortPolicies(out)
	return out, nil
}

func sortPolicies(ps []Policy) {
	slices.SortFunc(ps, func(a, b Policy) int {
		return cmp.Or(
			cmp.Compare(a.Tunnel, b.Tunnel),
			a.Src.Addr().Compare(b.Src.Addr()), cmp.Compare(a.Src.Bits(), b.Src.Bits()),
			a.Dst.Addr().Compare(b.Dst.Addr()), cmp.Compare(a.Dst.Bits(), b.Dst.Bits()),
			cmp.Compare(a.Dir, b.Dir),
		)
	})
}

func anyOf(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

func families(ps []netip.Prefix) []netip.Addr {
	var v4, v6 bool
	for _, p := range ps {
		if p.Addr().Unmap().Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	var out []netip.Addr
	if v4 || !v6 {
		out = append(out, netip.IPv4Unspecified())
	}
	if v6 {
		out = append(out, netip.IPv6Unspecified())
	}
	return out
}

// Owned reports whether a kernel policy is one of ours.
func Owned(p netlink.XfrmPolicy) bool {
	return p.Priority >= PriorityMin && p.Priority <= PriorityMax
}

// toNetlink converts p for the kernel.
func (p Policy) toNetlink() *netlink.XfrmPolicy {
	return &netlink.XfrmPolicy{
		Src:      ipconv.IPNet(p.Src.Masked()),
		Dst:      ipconv.IPNet(p.Dst.Masked()),
		Dir:      p.Dir,
		Priority: p.Priority,
		Ifid:     int(p.IfID),
		Action:   netlink.XFRM_POLICY_ALLOW,
		Tmpls: []netlink.XfrmPolicyTmpl{{
			Src:   net.IP(p.TmplSrc.AsSlice()),
			Dst:   net.IP(p.TmplDst.AsSlice()),
			Proto: netlink.XFRM_PROTO_ESP,
			Mode:  netlink.XFRM_MODE_TUNNEL,
			Reqid: int(p.ReqID),
		}},
	}
}

// fromNetlink reads a kernel policy back; ok is false for shapes we never
// install (no or several templates, or non-ESP/tunnel ones).
func fromNetlink(k netlink.XfrmPolicy) (Policy, bool) {
	p := Policy{Dir: k.Dir, Priority: k.Priority, IfID: uint32(k.Ifid)}
	var ok1, ok2 bool
	p.Src, ok1 = ipconv.Prefix(k.Src)
	p.Dst, ok2 = ipconv.Prefix(k.Dst)
	if !ok1 || !ok2 || len(k.Tmpls) != 1 {
		return p, false
	}
	t := k.Tmpls[0]
	if t.Proto != netlink.XFRM_PROTO_ESP || t.Mode != netlink.XFRM_MODE_TUNNEL {
		return p, false
	}
	p.TmplSrc, _ = addrOf(t.Src)
	p.TmplDst, _ = addrOf(t.Dst)
	p.ReqID = uint32(t.Reqid)
	return p, true
}

// same compares everything but the tunnel name.
func same(a, b Policy) bool {
	a.Tunnel, b.Tunnel = "", ""
	// The kernel hands an unspecified IPv6 template address back in the
	// IPv4-mapped form; both mean "any".
	for _, p := range []*Policy{&a, &b} {
		if p.TmplSrc.IsUnspecified() {
			p.TmplSrc = netip.Addr{}
		}
		if p.TmplDst.IsUnspecified() {
			p.TmplDst = netip.Addr{}
		}
	}
	return a == b
}

// Plan is what Apply will do to policies.
type Plan struct {
	Add    []Policy // missing or different: installed with update
	Delete []Policy // ours, no longer wanted
}

// PlanPolicies diffs desired against what the kernel holds. Only owned
// policies are ever deleted; a foreign policy with the key of a desired one
// is replaced (the kernel keeps one policy per key).
func PlanPolicies(desired []Policy, current []netlink.XfrmPolicy) Plan {
	var plan Plan
	have := map[key]Policy{}
	var bad []Policy // ours, but not a shape we install
	for _, k := range current {
		p, ok := fromNetlink(k)
		if !Owned(k) {
			continue
		}
		if !ok {
			bad = append(bad, p)
			continue
		}
		have[p.key()] = p
	}
	want := map[key]bool{}
	for _, d := range desired {
		want[d.key()] = true
		if h, ok := have[d.key()]; !ok || !same(h, d) {
			plan.Add = append(plan.Add, d)
		}
	}
	for k, h := range have {
		if !want[k] {
			plan.Delete = append(plan.Delete, h)
		}
	}
	for _, b := range bad {
		if !want[b.key()] {
			plan.Delete = append(plan.Delete, b)
		}
	}
	sortPolicies(plan.Delete)
	return plan
}

func addrOf(ip net.IP) (netip.Addr, bool) {
	if ip == nil {
		return netip.Addr{}, false
	}
	a, ok := netip.AddrFromSlice(ip)
	if ok && a.Is4In6() {
		a = a.Unmap()
	}
	return a, ok
}
