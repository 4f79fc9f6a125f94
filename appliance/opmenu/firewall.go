package opmenu

import (
	"fmt"

	"github.com/tunneler/tunneler/appliance/firewall"
)

// FirewallLines are the status screen's firewall part: what the drop
// rules refused since boot (a port scan shows up here), and how many
// packets the accepting rules let through in all.
func FirewallLines(rcs []firewall.RuleCounter, err error) []string {
	if err != nil {
		return []string{fmt.Sprintf("Firewall: counters not readable: %v", err)}
	}
	if len(rcs) == 0 {
		return nil
	}
	out := []string{"Firewall drops since boot:"}
	var accepted uint64
	for _, rc := range rcs {
		switch rc.Action {
		case firewall.ActionDrop:
			out = append(out, fmt.Sprintf("  %-14s %10d packets %12d bytes  %s", rc.Name, rc.Packets, rc.Bytes, rc.What))
		case firewall.ActionAccept:
			accepted += rc.Packets
		}
	}
	return append(out, fmt.Sprintf("  (accepted by the other rules: %d packets; the web UI and /metrics list every rule)", accepted))
}
