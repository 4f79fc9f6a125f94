package opmenu

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/failover"
)

var hqFailedOver = []failover.Status{{Site: "hq", Active: 1, Remotes: []failover.RemoteState{
	{Suspect: true}, {Active: true, Healthy: true, Monitor: "up"},
}}}

func TestSiteLines(t *testing.T) {
	raised := time.Date(2026, 11, 23, 6, 40, 0, 0, time.UTC)
	tests := []struct {
		name   string
		sts    []failover.Status
		alarms []alarm.Alarm
		want   []string
	}{
		{"no sites", nil, nil, nil},
		{"failed over", hqFailedOver, []alarm.Alarm{{Key: "remote:hq-r1", Severity: alarm.Warning, Raised: raised, Reason: "3 probes in a row failed"}}, []string{
			"Site hq: remote 2 active",
			"   remote 1 (hq-r1): failed, waiting for a new tunnel",
			" * remote 2 (hq-r2): healthy, monitor up",
			"Alarms: 1 active",
			"  WARNING remote:hq-r1 since 2026-11-23 06:40:00 UTC: 3 probes in a row failed",
		}},
		{"site down", []failover.Status{{Site: "hq", Down: true, Remotes: []failover.RemoteState{{Active: true}}}}, nil, []string{
			"Site hq: DOWN: no remote is healthy",
			" * remote 1 (hq-r1): down",
			"Alarms: none",
		}},
		{"just activated", []failover.Status{{Site: "hq", Active: 1, Remotes: []failover.RemoteState{{Suspect: true}, {Active: true, TunnelUp: true}}}}, nil, []string{
			"Site hq: remote 2 active",
			"   remote 1 (hq-r1): failed, waiting for a new tunnel",
			" * remote 2 (hq-r2): tunnel up, waiting for the monitor",
			"Alarms: none",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, SiteLines(tc.sts, tc.alarms)); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// Restarting a remote from the console: a wrong site or number restarts
// nothing, the warning says whether traffic stops, and only "yes" goes on.
func TestSiteItemsRestart(t *testing.T) {
	var restarted []string
	s := &Sites{
		Status: func() []failover.Status { return hqFailedOver },
		RestartRemote: func(site string, n int) error {
			restarted = append(restarted, site+string(rune('0'+n)))
			return nil
		},
	}
	b := &Menu{}
	m := &console.Menu{Title: "T", Items: b.Items(b.SiteItems(s)...)}
	in := strings.Join([]string{
		"16",
		"17", "branch",
		"17", "hq", "5",
		"17", "hq", "2", "no",
		"17", "hq", "1", "yes",
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := m.Serve(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	for _, want := range []string{
		"* remote 2 (hq-r2): healthy, monitor up",
		`There is no site "branch"`,
		`"5" is not a remote of hq`,
		"It carries the site's traffic now",
		"Nothing restarted.",
		"It is a standby",
		"Remote 1 of hq is being restarted.",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("console lacks %q:\n%s", want, o)
		}
	}
	if d := cmp.Diff([]string{"hq1"}, restarted); d != "" {
		t.Errorf("restarted (-want +got)\n%s", d)
	}
}
