package opmenu

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/firewall"
)

func TestFirewallLines(t *testing.T) {
	rcs := []firewall.RuleCounter{
		{Name: "in_drop", Action: firewall.ActionDrop, What: "to the box, not allowed", Counter: firewall.Counter{Packets: 65812, Bytes: 2632480}},
		{Name: "in_ike", Action: firewall.ActionAccept, What: "IKE", Counter: firewall.Counter{Packets: 30}},
		{Name: "in_esp", Action: firewall.ActionAccept, What: "ESP", Counter: firewall.Counter{Packets: 12}},
		{Name: "mss_clamp_in", Action: firewall.ActionClamp, Counter: firewall.Counter{Packets: 99}},
	}
	for _, tc := range []struct {
		name string
		rcs  []firewall.RuleCounter
		err  error
		want []string
	}{
		{"counters", rcs, nil, []string{
			"Firewall drops since boot:",
			"  in_drop             65812 packets      2632480 bytes  to the box, not allowed",
			"  (accepted by the other rules: 42 packets; the web UI and /metrics list every rule)",
		}},
		{"none", nil, nil, nil},
		{"error", nil, errors.New("netlink: permission denied"), []string{"Firewall: counters not readable: netlink: permission denied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, FirewallLines(tc.rcs, tc.err)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
