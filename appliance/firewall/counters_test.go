package firewall

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every counter Build makes is described, so the status page never shows
// a bare name without saying what it counts or whether it drops.
func TestEveryCounterDescribed(t *testing.T) {
	s := baseSpec()
	s.RouteInterfaces = []RouteIface{{Name: "xf0", MTU: 1300}}
	cs := map[string]Counter{}
	for _, n := range append(mustBuild(t, s).Counters(), DefaultDenyRuleset().Counters()...) {
		cs[n] = Counter{}
	}
	for _, rc := range describe(cs) {
		if rc.What == "" || rc.Action == "" {
			t.Errorf("counter %s has no description in ruleInfo", rc.Name)
		}
	}
}

func TestDescribeOrder(t *testing.T) {
	cs := map[string]Counter{
		"in_ike":      {Packets: 5, Bytes: 500},
		"in_drop":     {Packets: 7, Bytes: 420},
		"zz_new":      {Packets: 1},
		"fwd_drop":    {},
		"intercept b": {Packets: 2},
		"intercept a": {Packets: 3},
	}
	var got [][2]string
	for _, rc := range describe(cs) {
		got = append(got, [2]string{rc.Name, rc.Action})
	}
	want := [][2]string{
		{"in_drop", ActionDrop}, {"fwd_drop", ActionDrop}, {"in_ike", ActionAccept},
		{"intercept a", ActionAccept}, {"intercept b", ActionAccept}, {"zz_new", ""},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("describe order (-want +got):\n%s", d)
	}
	if rc := describe(cs)[0]; rc.Packets != 7 || rc.Bytes != 420 {
		t.Errorf("in_drop = %+v, want 7 packets, 420 bytes", rc)
	}
}
