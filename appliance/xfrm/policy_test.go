package xfrm

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

func policyTunnel() Tunnel {
	return Tunnel{
		Name: "site-a", ReqID: 7,
		Local: addr("192.0.2.1"), Peer: addr("198.51.100.9"),
		LocalNets:  []netip.Prefix{pfx("100.64.0.0/10")},
		RemoteNets: []netip.Prefix{pfx("10.1.0.0/16"), pfx("10.2.0.0/24")},
	}
}

func TestPoliciesPolicyMode(t *testing.T) {
	got, err := Policies([]Tunnel{policyTunnel()})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	want := []string{
		"dir out 100.64.0.0/10 -> 10.1.0.0/16 tmpl 192.0.2.1 -> 198.51.100.9 reqid 7 prio 1230",
		"dir in 10.1.0.0/16 -> 100.64.0.0/10 tmpl 198.51.100.9 -> 192.0.2.1 reqid 7 prio 1230",
		"dir fwd 10.1.0.0/16 -> 100.64.0.0/10 tmpl 198.51.100.9 -> 192.0.2.1 reqid 7 prio 1230",
		"dir out 100.64.0.0/10 -> 10.2.0.0/24 tmpl 192.0.2.1 -> 198.51.100.9 reqid 7 prio 1222",
		"dir in 10.2.0.0/24 -> 100.64.0.0/10 tmpl 198.51.100.9 -> 192.0.2.1 reqid 7 prio 1222",
		"dir fwd 10.2.0.0/24 -> 100.64.0.0/10 tmpl 198.51.100.9 -> 192.0.2.1 reqid 7 prio 1222",
	}
	// Sorted by selector then dir; compare as sets of lines.
	if diff := cmp.Diff(sortedStrings(want), sortedStrings(lines)); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
}

func sortedStrings(s []string) map[string]int {
	m := map[string]int{}
	for _, x := range s {
		m[x]++
	}
	return m
}

func TestPoliciesRouteMode(t *testing.T) {
	tun := policyTunnel()
	tun.Route, tun.IfID, tun.Local = true, 42, netip.Addr{}
	got, err := Policies([]Tunnel{tun})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("want 3 policies (0/0 in/out/fwd), got %v", got)
	}
	for _, p := range got {
		if p.IfID != 42 || p.Src.Bits() != 0 || p.Dst.Bits() != 0 || p.ReqID != 7 {
			t.Errorf("route-mode policy %s: want 0/0 with if_id 42 and reqid 7", p)
		}
		if p.Priority < PriorityMin || p.Priority > PriorityMax {
			t.Errorf("priority %d outside our band", p.Priority)
		}
	}
}

func TestPoliciesErrors(t *testing.T) {
	a := policyTunnel()
	b := policyTunnel()
	b.Name, b.ReqID = "site-b", 8
	for name, tc := range map[string]struct {
		ts   []Tunnel
		want string
	}{
		"no reqid":   {[]Tunnel{{Name: "x", Peer: addr("192.0.2.9")}}, "no reqid"},
		"unresolved": {[]Tunnel{{Name: "x", ReqID: 1}}, "not resolved"},
		"no if_id":   {[]Tunnel{{Name: "x", ReqID: 1, Peer: addr("192.0.2.9"), Route: true}}, "needs an if_id"},
		"overlap":    {[]Tunnel{a, b}, `"site-a" and "site-b" both want`},
		"family":     {[]Tunnel{{Name: "x", ReqID: 1, Peer: addr("2001:db8::1"), Local: addr("192.0.2.1")}}, "differ in family"},
	} {
		_, err := Policies(tc.ts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, tc.want)
		}
	}
}

func TestPlanPolicies(t *testing.T) {
	want, err := Policies([]Tunnel{policyTunnel()})
	if err != nil {
		t.Fatal(err)
	}
	var kernel []netlink.XfrmPolicy
	for _, p := range want {
		kernel = append(kernel, *p.toNetlink())
	}
	if plan := PlanPolicies(want, kernel); len(plan.Add)+len(plan.Delete) != 0 {
		t.Errorf("in sync, but plan is %+v", plan)
	}

	// A foreign policy (charon's band) is never deleted; a stale one of
	// ours is; a changed reqid is re-added.
	foreign := *want[0].toNetlink()
	foreign.Priority = 375423
	foreign.Dst = &net.IPNet{IP: net.IP{10, 99, 0, 0}, Mask: net.CIDRMask(16, 32)}
	stale := *want[0].toNetlink()
	stale.Dst = &net.IPNet{IP: net.IP{10, 3, 0, 0}, Mask: net.CIDRMask(16, 32)}
	changed := slices.Clone(want)
	changed[0].ReqID = 9
	plan := PlanPolicies(changed, append(kernel, foreign, stale))
	if len(plan.Add) != 1 || plan.Add[0].ReqID != 9 {
		t.Errorf("want the changed policy re-added, got %v", plan.Add)
	}
	if len(plan.Delete) != 1 || plan.Delete[0].Dst != pfx("10.3.0.0/16") {
		t.Errorf("want only the stale policy deleted, got %v", plan.Delete)
	}

	// Deleting the tunnel removes all of its policies, nothing else.
	plan = PlanPolicies(nil, append(kernel, foreign))
	if len(plan.Delete) != len(want) || len(plan.Add) != 0 {
		t.Errorf("tunnel deleted: plan %+v", plan)
	}
}

func TestRoundTripWildcardV6(t *testing.T) {
	// The kernel reports "::" as ::ffff:0.0.0.0; that must still be the same.
	p := Policy{Dir: netlink.XFRM_DIR_OUT, Src: pfx("2001:db8:1::/48"), Dst: pfx("2001:db8:2::/48"),
		Priority: 1100, TmplSrc: netip.IPv6Unspecified(), TmplDst: addr("2001:db8::9"), ReqID: 3}
	k := *p.toNetlink()
	k.Tmpls[0].Src = net.IPv4zero.To16()
	back, ok := fromNetlink(k)
	if !ok || !same(back, p) {
		t.Errorf("round trip: %v -> %v (ok %v)", p, back, ok)
	}
}

// A site's remote: out keeps the active remote's peer; in and fwd accept
// an SA from any peer, but only with the site's reqid (shared by its
// remotes), so replies through a standby remote pass and no other
// tunnel's SA does.
func TestPoliciesAnyPeerInbound(t *testing.T) {
	tun := policyTunnel()
	tun.RemoteNets = tun.RemoteNets[:1]
	tun.AnyPeerInbound = true
	got, err := Policies([]Tunnel{tun})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	want := []string{
		"dir out 100.64.0.0/10 -> 10.1.0.0/16 tmpl 192.0.2.1 -> 198.51.100.9 reqid 7 prio 1230",
		"dir in 10.1.0.0/16 -> 100.64.0.0/10 tmpl 0.0.0.0 -> 192.0.2.1 reqid 7 prio 1230",
		"dir fwd 10.1.0.0/16 -> 100.64.0.0/10 tmpl 0.0.0.0 -> 192.0.2.1 reqid 7 prio 1230",
	}
	if diff := cmp.Diff(sortedStrings(want), sortedStrings(lines)); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
}
