package firewall

import "testing"

// ruleCounter finds name in RuleCounters, the read-back the web UI, the
// console and /metrics show.
func ruleCounter(t *testing.T, l *lab, name string) RuleCounter {
	t.Helper()
	rcs, err := RuleCounters(l.conn)
	if err != nil {
		t.Fatalf("RuleCounters: %v", err)
	}
	for _, rc := range rcs {
		if rc.Name == name {
			return rc
		}
	}
	t.Fatalf("no counter %s in %+v", name, rcs)
	return RuleCounter{}
}

// Packets the WAN refuses raise in_drop as RuleCounters reads it back, in
// packets and bytes, and it is reported as a drop; accepted IKE from the
// peer raises in_ike.
func TestRuleCountersCountDrops(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())
	before := ruleCounter(t, l, "in_drop")
	if before.Action != ActionDrop {
		t.Errorf("in_drop reported as %q, want %q", before.Action, ActionDrop)
	}
	const n = 5
	for i := 0; i < n; i++ {
		if udpPasses(t, l, l.wan, "192.0.2.3:500", "192.0.2.1:500") {
			t.Fatal("IKE from a non-peer passed")
		}
	}
	if tcpPasses(t, l, l.wan, "192.0.2.3:0", "192.0.2.1:443") {
		t.Fatal("the web UI port answered a non-peer on the WAN")
	}
	after := ruleCounter(t, l, "in_drop")
	// 5 datagrams and at least one SYN (the dialer retries within its timeout).
	if after.Packets < before.Packets+n+1 {
		t.Errorf("in_drop packets %d -> %d, want at least %d more", before.Packets, after.Packets, n+1)
	}
	if min := uint64(n * (20 + 8 + 5)); after.Bytes < before.Bytes+min {
		t.Errorf("in_drop bytes %d -> %d, want at least %d more", before.Bytes, after.Bytes, min)
	}
	ike := ruleCounter(t, l, "in_ike").Packets
	if !udpPasses(t, l, l.wan, "192.0.2.2:500", "192.0.2.1:500") {
		t.Fatal("IKE from the peer was dropped")
	}
	if got := ruleCounter(t, l, "in_ike"); got.Packets != ike+1 || got.Action != ActionAccept {
		t.Errorf("in_ike after one datagram from the peer: %+v, want %d packets, accept", got, ike+1)
	}
}
