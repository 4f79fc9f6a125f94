package xfrm

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// boxAndPeer makes two namespaces joined by a veth: the box (192.0.2.1,
// inside address 100.64.0.1 on lo) and a peer (192.0.2.2) that holds a
// "remote network" host 10.9.0.1 and routes the box's range back.
func boxAndPeer(t *testing.T) (box, peer *testenv.Netns, h *netlink.Handle) {
	box = testenv.NewNetns(t, "xbox")
	peer = testenv.NewNetns(t, "xpeer")
	wan, site := vethNames("x")
	testenv.Veth(t, box, wan, peer, site)
	box.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", wan)
	box.Run(t, "ip", "addr", "add", "100.64.0.1/32", "dev", "lo")
	peer.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", site)
	peer.Run(t, "ip", "addr", "add", "10.9.0.1/32", "dev", "lo")
	peer.Run(t, "ip", "route", "add", "100.64.0.0/10", "via", "192.0.2.1")
	h, err := netlink.NewHandleAt(box.Handle())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return box, peer, h
}

func outNoStates(t *testing.T, ns *testenv.Netns) int {
	t.Helper()
	out := ns.Run(t, "cat", "/proc/net/xfrm_stat")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "XfrmOutNoStates" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no XfrmOutNoStates in /proc/net/xfrm_stat:\n%s", out)
	return 0
}

func pingOK(ns *testenv.Netns, dst string) bool {
	return ns.Command("ping", "-c", "1", "-W", "1", dst).Run() == nil
}

func TestKernelPolicyMode(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "ping")
	box, _, h := boxAndPeer(t)
	m := New(h)
	m.SkipInterfaces = true

	// Control: without policies, traffic to the remote network flows in
	// clear (the very thing the policies must prevent).
	box.Run(t, "ip", "route", "add", "10.9.0.0/24", "via", "192.0.2.2", "src", "100.64.0.1")
	if !pingOK(box, "10.9.0.1") {
		t.Fatal("control ping without policies failed; the test setup is broken")
	}
	box.Run(t, "ip", "route", "del", "10.9.0.0/24")

	// A policy that is not ours must survive every Apply.
	box.Run(t, "ip", "xfrm", "policy", "add", "src", "172.16.0.0/16", "dst", "172.17.0.0/16",
		"dir", "out", "priority", "5000", "tmpl", "src", "192.0.2.1", "dst", "192.0.2.7", "proto", "esp", "mode", "tunnel", "reqid", "99")

	d := Desired{
		InsideAddress: netip.MustParseAddr("100.64.0.1"),
		Tunnels: []Tunnel{{
			Name: "site-a", ReqID: 7,
			Peer:       netip.MustParseAddr("192.0.2.2"),
			LocalNets:  []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")},
			RemoteNets: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")},
			Routes:     []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")},
		}},
	}
	res, err := m.Apply(d)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(res.Added) != 3 || len(res.RoutesAdded) != 1 {
		t.Errorf("first apply: %+v", res)
	}

	// Read back what the kernel holds.
	want, _ := Policies(d.Tunnels)
	got, err := m.Owned()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("kernel holds %v, want %v", got, want)
	}
	for i := range want {
		if !same(got[i], want[i]) {
			t.Errorf("kernel policy %d: got %s, want %s", i, got[i], want[i])
		}
	}
	routes, err := m.OwnedRoutes()
	wanName, _ := vethNames("x")
	wan, _ := h.LinkByName(wanName)
	// The peer is on-link here, so the route has no gateway, only the WAN.
	if err != nil || len(routes) != 1 || routes[0].Src != d.InsideAddress || routes[0].Link != wan.Attrs().Index || routes[0].Gw.IsValid() {
		t.Errorf("routes: %+v, %v; want 10.9.0.0/24 dev %s src 100.64.0.1 in table %d", routes, err, wanName, RouteTable)
	}
	if out := box.Run(t, "ip", "route", "get", "10.9.0.1"); !strings.Contains(out, "src 100.64.0.1") || !strings.Contains(out, "table 220") {
		t.Errorf("route lookup for the remote network does not use table 220 and the inside address:\n%s", out)
	}

	// Fail closed: a policy with a template and no SA drops the packet.
	before := outNoStates(t, box)
	if pingOK(box, "10.9.0.1") {
		t.Fatal("ping to the remote network got through with no SA: traffic left in clear")
	}
	if after := outNoStates(t, box); after <= before {
		t.Errorf("XfrmOutNoStates %d -> %d: the kernel did not drop for lack of an SA", before, after)
	}

	// Idempotent.
	res, err = m.Apply(d)
	if err != nil || len(res.Added)+len(res.Deleted)+len(res.RoutesAdded)+len(res.RoutesDeleted) != 0 {
		t.Errorf("second apply changed something: %+v, %v", res, err)
	}

	// Deleting the tunnel removes its policies and routes, nothing else.
	res, err = m.Apply(Desired{InsideAddress: d.InsideAddress})
	if err != nil || len(res.Deleted) != 3 || len(res.RoutesDeleted) != 1 {
		t.Errorf("delete tunnel: %+v, %v", res, err)
	}
	if got, _ := m.Owned(); len(got) != 0 {
		t.Errorf("policies left after delete: %v", got)
	}
	if out := box.Run(t, "ip", "xfrm", "policy", "list"); !strings.Contains(out, "172.17.0.0/16") {
		t.Errorf("foreign policy was removed:\n%s", out)
	}
}

// xfrmInterfaces reports whether the kernel can make xfrm interfaces.
func xfrmInterfaces(h *netlink.Handle) bool {
	l := &netlink.Xfrmi{LinkAttrs: netlink.LinkAttrs{Name: "xfrmprobe"}, Ifid: 1}
	if err := h.LinkAdd(l); err != nil {
		return false
	}
	h.LinkDel(l)
	return true
}

func TestKernelRouteMode(t *testing.T) {
	testenv.RequireRoot(t)
	_, _, h := boxAndPeer(t)
	m := New(h)
	tun := Tunnel{
		Name: "site-r", ReqID: 11, Route: true, IfID: 42,
		Peer:       netip.MustParseAddr("192.0.2.2"),
		LocalNets:  []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")},
		RemoteNets: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")},
		Routes:     []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")},
	}
	withIfaces := xfrmInterfaces(h)
	if !withIfaces {
		// This host's kernel has no xfrm_interface; the VM system tests
		// cover the interface and its routes. Policies with if_id need no
		// interface, so they are still checked here.
		t.Log("kernel has no xfrm interfaces: checking route-mode policies only; the interface and routes are covered by the VM system tests")
		m.SkipInterfaces = true
		tun.Routes = nil
	}
	d := Desired{InsideAddress: netip.MustParseAddr("100.64.0.1"), Tunnels: []Tunnel{tun}}
	if _, err := m.Apply(d); err != nil {
		t.Fatalf("apply: %v", err)
	}
	got, err := m.Owned()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("want in/out/fwd 0/0 policies, got %v", got)
	}
	for _, p := range got {
		if p.IfID != 42 || p.ReqID != 11 || p.Src.Bits() != 0 || p.Dst.Bits() != 0 {
			t.Errorf("policy %s: want 0/0 with if_id 42 and reqid 11", p)
		}
	}
	if withIfaces {
		l, err := h.LinkByName(InterfaceName(42))
		if err != nil {
			t.Fatalf("xfrm interface: %v", err)
		}
		rs, _ := m.OwnedRoutes()
		if len(rs) != 1 || rs[0].Link != l.Attrs().Index || rs[0].Src != d.InsideAddress {
			t.Errorf("routes %+v: want 10.9.0.0/24 dev %s src 100.64.0.1", rs, InterfaceName(42))
		}
	}
	if _, err := m.Apply(Desired{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if got, _ := m.Owned(); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	if _, err := h.LinkByName(InterfaceName(42)); err == nil {
		t.Errorf("%s left behind", InterfaceName(42))
	}
}

// vethNames are unique per test process: veths are made in the host's
// namespace before they move, and other packages' tests run in parallel.
func vethNames(prefix string) (wan, site string) {
	n := os.Getpid() % 1000000
	return fmt.Sprintf("%sw%d", prefix, n), fmt.Sprintf("%ss%d", prefix, n)
}

// The kernel takes the any-peer in/fwd templates of a site's remote, with
// the site's reqid, and hands them back so that a second Apply changes
// nothing (no endless re-install at every config apply or failover).
func TestKernelAnyPeerInboundIdempotent(t *testing.T) {
	testenv.RequireRoot(t)
	_, _, h := boxAndPeer(t)
	m := New(h)
	m.SkipInterfaces = true
	d := Desired{
		InsideAddress: netip.MustParseAddr("100.64.0.1"),
		Tunnels: []Tunnel{{
			Name: "hq-r2", ReqID: 9, AnyPeerInbound: true,
			Peer:       netip.MustParseAddr("192.0.2.2"),
			LocalNets:  []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")},
			RemoteNets: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")},
		}},
	}
	if _, err := m.Apply(d); err != nil {
		t.Fatalf("apply: %v", err)
	}
	res, err := m.Apply(d)
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if len(res.Added) != 0 || len(res.Deleted) != 0 {
		t.Errorf("second apply changed policies: %+v", res)
	}
	// The in and fwd templates name the site's reqid, not 0 ("any SA").
	pols, err := h.XfrmPolicyList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	inbound := 0
	for _, p := range pols {
		if p.Dir != netlink.XFRM_DIR_IN && p.Dir != netlink.XFRM_DIR_FWD {
			continue
		}
		inbound++
		if len(p.Tmpls) != 1 || p.Tmpls[0].Reqid != 9 || !p.Tmpls[0].Src.IsUnspecified() {
			t.Errorf("%s policy %v -> %v: templates %+v, want one from any source with reqid 9", p.Dir, p.Src, p.Dst, p.Tmpls)
		}
	}
	if inbound != 2 {
		t.Errorf("%d in/fwd policies in the kernel, want 2", inbound)
	}
}
