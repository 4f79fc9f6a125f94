package webui

import (
	"context"
	"sort"
	"time"

	"github.com/tunneler/tunneler/webui/metrics"
)

// Run samples the Box's status every metrics.Interval into the metrics
// ring and saves the summary every 10 minutes, until ctx ends.
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(metrics.Interval)
	defer tick.Stop()
	lastSave := s.now()
	for {
		s.Sample()
		if s.opt.MetricsDir != "" && s.now().Sub(lastSave) >= 10*time.Minute {
			if err := s.rec.Save(s.opt.MetricsDir); err != nil {
				s.logf("webui: %v", err)
			}
			lastSave = s.now()
		}
		select {
		case <-ctx.Done():
			if s.opt.MetricsDir != "" {
				s.rec.Save(s.opt.MetricsDir)
			}
			return
		case <-tick.C:
		}
	}
}

// Sample takes one metrics sample from the Box now.
func (s *Server) Sample() {
	st := s.box.Status()
	smp := metrics.Sample{Time: st.Time, CPUPercent: st.System.CPUPercent, MemUsed: st.System.MemUsed, MemTotal: st.System.MemTotal}
	if smp.Time.IsZero() {
		smp.Time = s.now()
	}
	for _, t := range st.Tunnels {
		mt := metrics.Tunnel{Name: t.Name, BytesIn: t.BytesIn, BytesOut: t.BytesOut,
			IKEUp: t.IKE.State == "ESTABLISHED", Alive: espAlive(t, smp.Time)}
		for _, c := range t.Children {
			mt.ChildIDs = append(mt.ChildIDs, c.SPIIn)
		}
		sort.Strings(mt.ChildIDs)
		smp.Tunnels = append(smp.Tunnels, mt)
	}
	s.rec.Add(smp)
}

// espAlive: inbound ESP arrived in the last two minutes, and the tunnel
// is not sending unanswered (control's ESPSilent, the alarm's time). An
// idle tunnel goes grey too: nothing proves its data path.
func espAlive(t TunnelStatus, now time.Time) bool {
	return !t.ESPSilent && !t.LastHeartbeat.IsZero() && now.Sub(t.LastHeartbeat) < 2*time.Minute
}

// Recorder exposes the metrics ring (init may feed it samples itself).
func (s *Server) Recorder() *metrics.Recorder { return s.rec }
