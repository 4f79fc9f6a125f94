package opmenu

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/failover"
)

// Sites is what the menu shows and does for sites with several remotes;
// init supplies it to SiteItems.
type Sites struct {
	// Status is every running site's failover state.
	Status func() []failover.Status
	// Alarms is the boot's alarm manager (nil: none yet).
	Alarms func() *alarm.Manager
	// RestartRemote is "restart ipsec remote" (remote counts from 1).
	RestartRemote func(site string, remote int) error
}

// SiteLines summarises sites and alarms for the status screen: per site
// the active remote, per remote its health and monitor, then the active
// alarms with time and reason.
func SiteLines(sts []failover.Status, alarms []alarm.Alarm) []string {
	var out []string
	for _, s := range sts {
		state := fmt.Sprintf("remote %d active", s.Active+1)
		if s.Down {
			state = "DOWN: no remote is healthy"
		}
		out = append(out, fmt.Sprintf("Site %s: %s", s.Site, state))
		for i, r := range s.Remotes {
			h := "down"
			switch {
			case r.Healthy:
				h = "healthy"
			case r.Suspect:
				h = "failed, waiting for a new tunnel"
			case r.Active && r.TunnelUp && r.Monitor == "":
				h = "tunnel up, waiting for the monitor"
			}
			mark := " "
			if r.Active {
				mark = "*"
			}
			line := fmt.Sprintf(" %s remote %d (%s-r%d): %s", mark, i+1, s.Site, i+1, h)
			if r.Monitor != "" {
				line += ", monitor " + r.Monitor
			}
			out = append(out, line)
		}
	}
	if len(alarms) == 0 {
		if len(sts) > 0 {
			out = append(out, "Alarms: none")
		}
		return out
	}
	out = append(out, fmt.Sprintf("Alarms: %d active", len(alarms)))
	for _, a := range alarms {
		out = append(out, fmt.Sprintf("  %s %s since %s UTC: %s", strings.ToUpper(a.Severity.String()), a.Key, a.Raised.UTC().Format("2006-01-02 15:04:05"), a.Reason))
	}
	return out
}

// Lines is SiteLines of the running sites and active alarms.
func (s *Sites) Lines() []string {
	var alarms []alarm.Alarm
	if s.Alarms != nil {
		if m := s.Alarms(); m != nil {
			alarms = m.Active()
		}
	}
	return SiteLines(s.Status(), alarms)
}

// SiteItems returns the sites' entries (keys 16 and 17) for Items' extra
// entries, shown only while some site runs: status with alarms, and
// restarting one remote.
func (b *Menu) SiteItems(s *Sites) []console.Item {
	if s == nil {
		return nil
	}
	running := func() bool { return len(s.Status()) > 0 }
	return []console.Item{
		{Key: "16", Title: "Sites: remotes and alarms", Shown: running, Run: func(w io.Writer) error {
			for _, l := range s.Lines() {
				fmt.Fprintf(w, " %s\n", l)
			}
			return nil
		}},
		{Key: "17", Title: "Sites: restart a remote's tunnel (interrupts its traffic if active)", Shown: running,
			Dialog: func(cs *console.Session) error { return b.restartRemote(cs, s) }},
	}
}

func (b *Menu) restartRemote(cs *console.Session, s *Sites) error {
	for _, l := range s.Lines() {
		cs.Printf(" %s\n", l)
	}
	site, ok := cs.Ask("Site: ")
	if !ok {
		return io.EOF
	}
	site = strings.TrimSpace(site)
	var st *failover.Status
	for _, x := range s.Status() {
		if x.Site == site {
			st = &x
		}
	}
	if st == nil {
		cs.Printf("There is no site %q; nothing restarted.\n", site)
		return nil
	}
	a, ok := cs.Ask(fmt.Sprintf("Remote (1-%d): ", len(st.Remotes)))
	if !ok {
		return io.EOF
	}
	n, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil || n < 1 || n > len(st.Remotes) {
		cs.Printf("%q is not a remote of %s; nothing restarted.\n", strings.TrimSpace(a), site)
		return nil
	}
	warn := "It is a standby: the site's traffic is not interrupted."
	if st.Remotes[n-1].Active {
		warn = "It carries the site's traffic now: that traffic stops until the tunnel is back or the site fails over."
	}
	cs.Printf("Restarting remote %d of %s tears down its IKE and CHILD SAs and negotiates them again. %s\n", n, site, warn)
	if !cs.Confirm("Restart it?") {
		cs.Printf("Nothing restarted.\n")
		return nil
	}
	if err := s.RestartRemote(site, n); err != nil {
		cs.Printf("Restart FAILED: %v\n", err)
		return nil
	}
	b.logf("console menu: restart of remote %d of site %s", n, site)
	cs.Printf("Remote %d of %s is being restarted.\n", n, site)
	return nil
}
