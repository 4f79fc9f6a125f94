package control

import (
	"fmt"
	"strings"

	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/provision"
)

// provisioningArea is the area of init's problem lines about the ESP's
// provisioning file; the structured Deps.Provisioning replaces them.
const provisioningArea = "provisioning"

// bootProblems puts init's problem lines (the banner's PROBLEM lines) and
// this boot's provisioning result in the web UI's words. Neither carries
// a secret: provision's problems name lines, variables and fields only.
func bootProblems(lines []string, prov provision.Result) []BootProblem {
	var out []BootProblem
	p, hasProv := provisioningProblem(prov)
	if hasProv {
		out = append(out, p)
	}
	for _, l := range lines {
		area, _, ok := strings.Cut(l, ":")
		if !ok {
			area = ""
		}
		if hasProv && area == provisioningArea {
			continue // said above, with each problem of the file
		}
		out = append(out, BootProblem{Area: area, Text: l})
	}
	return out
}

// provisioningProblem reports a provisioning file that was not imported
// (or was, but is still on the ESP); false when there is nothing to say.
func provisioningProblem(r provision.Result) (BootProblem, bool) {
	if r.File == "" || r.Imported && r.Err == nil {
		return BootProblem{}, false
	}
	where := "the boot partition"
	if r.From != "" {
		where = r.From // a config drive
	}
	p := BootProblem{Area: provisioningArea, File: r.File, KeptAs: r.KeptAs,
		Text: fmt.Sprintf("The provisioning file %s on %s was not imported", r.File, where)}
	if r.Imported {
		p.Text = fmt.Sprintf("The provisioning file %s was imported, but it is still on %s", r.File, where)
	}
	p.Details = append(p.Details, r.Problems...)
	p.Details = append(p.Details, r.Warnings...) // what the box would have mapped or ignored
	if r.Err != nil {
		p.Details = append(p.Details, r.Err.Error())
	}
	return p, true
}

// firewallCounters puts firewall.RuleCounters in the web UI's words.
func firewallCounters(rcs []firewall.RuleCounter) []FirewallCounter {
	out := make([]FirewallCounter, 0, len(rcs))
	for _, rc := range rcs {
		out = append(out, FirewallCounter{Rule: rc.Name, Action: rc.Action, What: rc.What, Packets: rc.Packets, Bytes: rc.Bytes})
	}
	return out
}
