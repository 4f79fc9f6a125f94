package firewall

import (
	"net/netip"
	"testing"
)

// TestInputRulesIPv6: over an IPv6 WAN, IKE and NAT-T pass from a
// configured peer only, everything else is dropped and counted, and
// neighbour discovery works (without it not even the peer's IKE would
// arrive).
func TestInputRulesIPv6(t *testing.T) {
	l := newLab(t)
	l.box.Run(t, "ip", "addr", "add", "2001:db8:2::1/64", "dev", "wan0", "nodad")
	l.wan.Run(t, "ip", "addr", "add", "2001:db8:2::2/64", "dev", "p0", "nodad")
	l.wan.Run(t, "ip", "addr", "add", "2001:db8:2::3/64", "dev", "p0", "nodad")
	spec := l.spec()
	spec.Peers = append(spec.Peers, netip.MustParseAddr("2001:db8:2::2"))
	mustApply(t, l.conn, spec)
	for _, tc := range []struct {
		name     string
		pass     func() bool
		want     bool
		counters []string
	}{
		{"IKE 500 from IPv6 peer", func() bool { return udpPasses(t, l, l.wan, "[2001:db8:2::2]:500", "[2001:db8:2::1]:500") }, true, []string{"in_ike", "in_icmpv6_nd"}},
		{"NAT-T 4500 from IPv6 peer", func() bool { return udpPasses(t, l, l.wan, "[2001:db8:2::2]:4500", "[2001:db8:2::1]:4500") }, true, []string{"in_ike"}},
		{"IKE 500 from IPv6 stranger", func() bool { return udpPasses(t, l, l.wan, "[2001:db8:2::3]:500", "[2001:db8:2::1]:500") }, false, []string{"in_drop"}},
		{"other UDP from IPv6 peer", func() bool { return udpPasses(t, l, l.wan, "[2001:db8:2::2]:5000", "[2001:db8:2::1]:5000") }, false, []string{"in_drop"}},
		{"web UI from IPv6 peer", func() bool { return tcpPasses(t, l, l.wan, "[2001:db8:2::2]:0", "[2001:db8:2::1]:443") }, false, []string{"in_drop"}},
		{"ssh from IPv6 stranger", func() bool { return tcpPasses(t, l, l.wan, "[2001:db8:2::3]:0", "[2001:db8:2::1]:22") }, false, []string{"in_drop"}},
		{"ping from IPv6 peer", func() bool { return pingPasses(t, l.wan, "-6", "-I", "2001:db8:2::2", "2001:db8:2::1") }, false, []string{"in_drop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]uint64{}
			for _, c := range tc.counters {
				before[c] = counter(t, l.conn, c)
			}
			if got := tc.pass(); got != tc.want {
				t.Errorf("passed = %v, want %v", got, tc.want)
			}
			for _, c := range tc.counters {
				if after := counter(t, l.conn, c); after <= before[c] {
					t.Errorf("counter %s did not rise (%d -> %d)", c, before[c], after)
				}
			}
		})
	}
}
