package firewall

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/tunneler/tunneler/scripts/testenv"
)

// TestSourceCheckAsNftWritesIt installs a ruleset with per-reqid sources
// and reads it back with nft: the kernel must hold `ipsec in reqid N`
// rules, and the expression we sent must be the one nft itself makes
// from that text (compared in nft's own expression dump).
func TestSourceCheckAsNftWritesIt(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "nft")
	ns := testenv.NewNetns(t, "src")
	conn := nsConn(t, ns)
	spec := Spec{
		WAN:            []string{"wan0"},
		LAN:            []string{"lan0"},
		InsideAddr:     addr("100.64.0.1"),
		RemoteNetworks: []netip.Prefix{prefix("172.16.0.0/24"), prefix("10.20.0.0/16"), prefix("2001:db8:20::/48")},
		Sources: []Source{
			{ReqID: 9, Networks: []netip.Prefix{prefix("10.20.0.0/16"), prefix("2001:db8:20::/48")}},
			{ReqID: 7, Networks: []netip.Prefix{prefix("172.16.0.0/24")}},
		},
	}
	mustApply(t, conn, spec)

	got := nftRules(ns.Run(t, "nft", "list", "chain", "inet", TableName, chainIPsecSrc))
	want := []string{
		"ip saddr @from_7_4 ipsec in reqid 7 return",
		"ip saddr @from_9_4 ipsec in reqid 9 return",
		"ip6 saddr @from_9_6 ipsec in reqid 9 return",
		"counter name \"in_ipsec_spoof\" drop",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nft list chain %s (-want +got):\n%s", chainIPsecSrc, diff)
	}
	in := nftRules(ns.Run(t, "nft", "list", "chain", "inet", TableName, chainIPsecIn))
	for _, r := range []string{"ip saddr @from_any4 jump ipsec_src", "ip6 saddr @from_any6 jump ipsec_src"} {
		if !slices.Contains(in, r) {
			t.Errorf("ipsec_in lacks %q:\n%s", r, strings.Join(in, "\n"))
		}
	}

	// nft's own rule, for its expression dump.
	ns.Run(t, "nft", "add table inet ref; add chain inet ref c; add rule inet ref c ipsec in reqid 7 return")
	ours := xfrmLoads(ns.Run(t, "nft", "--debug=netlink", "list", "chain", "inet", TableName, chainIPsecSrc))
	ref := xfrmLoads(ns.Run(t, "nft", "--debug=netlink", "list", "chain", "inet", "ref", "c"))
	if len(ref) != 1 || len(ours) != 3 {
		t.Fatalf("xfrm loads: nft's %q, ours %q", ref, ours)
	}
	for _, l := range ours {
		if l != ref[0] {
			t.Errorf("our xfrm expression dumps as %q, nft's as %q", l, ref[0])
		}
	}
}

// nftRules returns the rule lines of `nft list chain` output.
func nftRules(out string) []string {
	var rules []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l == "}" || strings.HasPrefix(l, "table ") || strings.HasPrefix(l, "chain ") || strings.HasPrefix(l, "type ") {
			continue
		}
		rules = append(rules, l)
	}
	return rules
}

var xfrmLoad = regexp.MustCompile(`\[ xfrm load [^\]]*\]`)

func xfrmLoads(out string) []string { return xfrmLoad.FindAllString(out, -1) }

// TestSourceCheckDropsWithoutTheSA: packets from a site's networks that no
// SA of that site decrypted are dropped and counted in in_ipsec_spoof,
// while other tunnel traffic is judged as before. xf0 stands in for an
// xfrm interface and delivers packets with no SA at all (this kernel has
// no ESP), which is what a peer sending another site's addresses through
// a path without that site's reqid looks like to the check; a packet
// with the right reqid can only be made in a VM (see the system test).
func TestSourceCheckDropsWithoutTheSA(t *testing.T) {
	l := newLab(t)
	spec := l.spec()
	spec.Sources = []Source{{ReqID: 7, Networks: []netip.Prefix{prefix("172.16.0.0/25")}}}
	mustApply(t, l.conn, spec)
	l.site.Run(t, "ip", "addr", "add", "172.16.0.200/24", "dev", "s0")

	before := counter(t, l.conn, "in_ipsec_spoof")
	if udpPasses(t, l, l.site, "172.16.0.2:0", "100.64.0.1:53") {
		t.Errorf("DNS from a source of reqid 7 passed without an SA of reqid 7")
	}
	if pingPasses(t, l.site, "-I", "172.16.0.2", "100.64.0.1") {
		t.Errorf("ping from a source of reqid 7 passed without an SA of reqid 7")
	}
	if got := counter(t, l.conn, "in_ipsec_spoof") - before; got < 2 {
		t.Errorf("in_ipsec_spoof rose by %d, want at least 2", got)
	}
	// Outside every source (172.16.0.200 is not in 172.16.0.0/25): the
	// check leaves it to the rules after it.
	if !udpPasses(t, l, l.site, "172.16.0.200:0", "100.64.0.1:53") {
		t.Errorf("DNS from an address of no source was dropped")
	}
}

// TestPlaceholderFailsClosed: a rule with the xfrm placeholder sent
// through a plain nftables.Conn (not nftxfrm's) is refused by the kernel,
// batch and all, rather than loaded as something else.
func TestPlaceholderFailsClosed(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNetns(t, "ph")
	conn := nsConn(t, ns)
	table := &nftables.Table{Name: "ph", Family: nftables.TableFamilyINet}
	conn.AddTable(table)
	chain := conn.AddChain(&nftables.Chain{Name: "c", Table: table})
	r := newRule("c").ipsecInReqid(7).ret()
	conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: r.exprs})
	if err := conn.Flush(); err == nil {
		t.Fatal("the kernel took a rule with the placeholder")
	}
	if out := ns.Run(t, "nft", "list", "tables"); strings.Contains(out, "ph") {
		t.Errorf("the refused batch left its table: %s", out)
	}
}
