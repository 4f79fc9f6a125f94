package control

import (
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/liveness"
)

// The snapshot's liveness is when inbound ESP last arrived, not "now when
// green": a green tunnel whose ESP stopped coming in shows the old time
// and, past the alarm's time, is flagged silent.
func TestStatusLivenessIsInboundESP(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	now := t0
	tr := liveness.New()
	sample := func(in, out uint64) []ipsec.TunnelStatus {
		return []ipsec.TunnelStatus{{Name: "site1", Colour: ipsec.Green, IKEState: "ESTABLISHED",
			Children: []ipsec.ChildStatus{{Name: "site1", State: "INSTALLED", SPIIn: "c1", PacketsIn: in, PacketsOut: out, BytesIn: in * 100, BytesOut: out * 90}}}}
	}
	cur := sample(4, 4)
	o := New(Deps{Boot: testConfig(), BootGen: 1, Now: func() time.Time { return now },
		Tunnels:  func() Tunnels { return staticTunnels{&cur} },
		Liveness: func() *liveness.Tracker { return tr }, ESPSilence: 30 * time.Second})
	tr.Observe(t0, cur)
	cur = sample(4, 9)
	tr.Observe(t0.Add(10*time.Second), cur)
	now = t0.Add(20 * time.Second)
	ts := o.Status().Tunnels[0]
	if !ts.LastHeartbeat.Equal(t0) || ts.ESPSilent || ts.PacketsIn != 4 || ts.PacketsOut != 9 || ts.BytesOut != 810 {
		t.Errorf("after 10 s unanswered: %+v", ts)
	}
	if c := ts.Children[0]; !c.LastInbound.Equal(t0) || c.PacketsIn != 4 || c.PacketsOut != 9 {
		t.Errorf("child %+v", c)
	}
	now = t0.Add(40 * time.Second)
	if ts := o.Status().Tunnels[0]; !ts.ESPSilent || ts.Colour != Green {
		t.Errorf("30 s unanswered: silent %v, colour %s; want silent and still green (IKE is up)", ts.ESPSilent, ts.Colour)
	}
	// Without a tracker nothing claims the tunnel is live.
	o = New(Deps{Boot: testConfig(), BootGen: 1, Now: func() time.Time { return now }, Tunnels: func() Tunnels { return staticTunnels{&cur} }})
	if ts := o.Status().Tunnels[0]; !ts.LastHeartbeat.IsZero() {
		t.Errorf("liveness without counters: %v", ts.LastHeartbeat)
	}
}

type staticTunnels struct{ st *[]ipsec.TunnelStatus }

func (s staticTunnels) Status() []ipsec.TunnelStatus { return *s.st }
func (s staticTunnels) Reconnect(string) error       { return nil }
