package control

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/failover"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

func TestSiteStatus(t *testing.T) {
	c := config.Config{
		Sites: []config.Site{{Name: "hq", RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.9.0.0/24"))},
			Monitor: config.Monitor{Target: "10.9.0.100"},
			Remotes: []config.Remote{{PeerAddress: "192.0.2.2", Profile: "p"}, {PeerAddress: "192.0.2.3", Profile: "p", MonitorTarget: "10.9.0.7"}}}},
		Profiles: []config.Profile{{Name: "p"}},
	}
	live := map[string]ipsec.TunnelStatus{
		"hq-r1": {Name: "hq-r1", Colour: ipsec.Orange, Reason: "DPD timeout"},
		"hq-r2": {Name: "hq-r2", Colour: ipsec.Green},
	}
	fs := []failover.Status{{Site: "hq", Active: 1, Remotes: []failover.RemoteState{
		{Suspect: true, HoldDown: time.Second},
		{Active: true, Healthy: true, Monitor: "up", HoldDown: time.Second},
	}}}
	tests := []struct {
		name string
		fs   []failover.Status
		want []SiteStatus
	}{
		{"running", fs, []SiteStatus{{Name: "hq", Active: 2, RemoteNetworks: []string{"10.9.0.0/24"}, Remotes: []RemoteStatus{
			{Index: 1, Tunnel: "hq-r1", PeerAddress: "192.0.2.2", Colour: Orange, Reason: "DPD timeout", Suspect: true, MonitorTarget: "10.9.0.100", HoldDown: time.Second},
			{Index: 2, Tunnel: "hq-r2", PeerAddress: "192.0.2.3", Colour: Green, Active: true, Healthy: true, Monitor: "up", MonitorTarget: "10.9.0.7", HoldDown: time.Second},
		}}}},
		{"not running", nil, []SiteStatus{{Name: "hq", Active: 1, Down: true, RemoteNetworks: []string{"10.9.0.0/24"}, Remotes: []RemoteStatus{
			{Index: 1, Tunnel: "hq-r1", PeerAddress: "192.0.2.2", Colour: Orange, Reason: "DPD timeout", MonitorTarget: "10.9.0.100"},
			{Index: 2, Tunnel: "hq-r2", PeerAddress: "192.0.2.3", Colour: Green, MonitorTarget: "10.9.0.7"},
		}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, siteStatus(c, tc.fs, live)); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestAlarmsAndRestartRemote(t *testing.T) {
	m := alarm.New(0)
	now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	m.Raise(now, "remote:hq-r1", alarm.Warning, "3 probes in a row failed")
	act, hist := alarms(m)
	if len(act) != 1 || act[0].Severity != "warning" || len(hist) != 1 || hist[0].Kind != "raised" {
		t.Errorf("alarms: %+v %+v", act, hist)
	}
	if act, _ := alarms(nil); act == nil {
		t.Error("no manager: want an empty list (JSON []), got nil")
	}
}

type fakeSites struct{ got []string }

func (f *fakeSites) Status() []failover.Status { return nil }
func (f *fakeSites) RestartRemote(site string, n int) error {
	f.got = append(f.got, site+"/"+string(rune('0'+n)))
	return nil
}

func TestDoRestartRemote(t *testing.T) {
	fs := &fakeSites{}
	b := New(Deps{Sites: func() Sites { return fs }, Logf: func(string, ...any) {}})
	tests := []struct {
		tunnel string
		ok     bool
	}{{"hq-r2", true}, {"my-site-r1", true}, {"hq-r5", false}, {"hq", false}, {"hq-rx", false}}
	for _, tc := range tests {
		err := b.Do(t.Context(), Action{Kind: ActRestartRemote, Tunnel: tc.tunnel})
		if (err == nil) != tc.ok {
			t.Errorf("restart %s: %v, want ok=%v", tc.tunnel, err, tc.ok)
		}
	}
	if d := cmp.Diff([]string{"hq/2", "my-site/1"}, fs.got); d != "" {
		t.Errorf("restarted (-want +got)\n%s", d)
	}
}
