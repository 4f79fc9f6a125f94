package sites

import (
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/liveness"
)

// Liveness is the ESP liveness of every tunnel, for the pages and
// /metrics (appliance/control reads it).
func (m *Manager) Liveness() *liveness.Tracker { return m.live }

// watchESP samples the tunnels' ESP counters for as long as charon's
// client lives, and raises an alarm for a tunnel whose packets go out
// while none come in, with IKE up; it clears when ESP arrives again or
// the IKE SA goes (the tunnel's own state says why then).
func (m *Manager) watchESP(c Client) {
	tick := time.NewTicker(m.o.SampleEvery)
	defer tick.Stop()
	for range tick.C {
		m.sampleESP(c, time.Now())
	}
}

// sampleESP is one round of watchESP.
func (m *Manager) sampleESP(c Client, now time.Time) {
	sts := c.Status()
	m.live.Observe(now, sts)
	for _, st := range sts {
		key := alarm.ESPKey(st.Name)
		t, _ := m.live.Tunnel(st.Name)
		switch {
		case t.Silent(now, m.o.ESPSilence):
			m.alarms.Raise(now, key, alarm.Warning, liveness.SilentMessage)
		case !t.IKEUp:
			m.alarms.Clear(now, key, "the IKE SA is down")
		case t.SendingSince.IsZero():
			m.alarms.Clear(now, key, "ESP from the remote device arrives again")
		}
	}
}
