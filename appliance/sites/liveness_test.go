package sites

import (
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/liveness"
)

// The ESP alarm fires once packets have gone out for ESPSilence with none
// coming in while IKE is up, and clears when ESP arrives again.
func TestESPSilenceAlarm(t *testing.T) {
	m := New(Options{ESPSilence: 30 * time.Second})
	c := &fakeClient{t: newTrail(), changed: make(chan struct{}, 1)}
	t0 := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	set := func(in, out uint64) {
		c.mu.Lock()
		c.status = []ipsec.TunnelStatus{{Name: "site1", IKEState: "ESTABLISHED",
			Children: []ipsec.ChildStatus{{SPIIn: "c1", PacketsIn: in, PacketsOut: out}}}}
		c.mu.Unlock()
	}
	active := func() []alarm.Alarm { return m.Alarms().Active() }
	set(5, 5)
	m.sampleESP(c, t0)
	set(5, 8) // sent, nothing back
	m.sampleESP(c, t0.Add(5*time.Second))
	set(5, 12)
	m.sampleESP(c, t0.Add(30*time.Second))
	if len(active()) != 0 {
		t.Fatalf("alarm after 25 s of silence: %v", active())
	}
	m.sampleESP(c, t0.Add(35*time.Second))
	a := active()
	if len(a) != 1 || a[0].Key != "esp:site1" || a[0].Reason != liveness.SilentMessage || a[0].Severity != alarm.Warning {
		t.Fatalf("after 30 s of silence: %+v", a)
	}
	if lt, _ := m.Liveness().Tunnel("site1"); !lt.LastInbound.Equal(t0) {
		t.Errorf("last inbound %v, want %v", lt.LastInbound, t0)
	}
	set(6, 13)
	m.sampleESP(c, t0.Add(40*time.Second))
	if len(active()) != 0 {
		t.Fatalf("alarm still raised once ESP arrives: %v", active())
	}
	h := m.Alarms().History()
	if last := h[len(h)-1]; last.Kind != alarm.Cleared || last.Key != "esp:site1" {
		t.Errorf("last change %+v", last)
	}
}
