package webui

import (
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/webui/metrics"
)

// TestChartsMarkOutagesAndRekeys: an IKE SA outage is a red band and a
// CHILD SA rekey an amber mark on the Metrics page, and both are in its JSON.
func TestChartsMarkOutagesAndRekeys(t *testing.T) {
	h := newHarness(t)
	h.setup()
	start := h.now.Add(-30 * time.Minute)
	fillHistory(h.srv.Recorder(), start)
	h.now = start.Add(150 * metrics.Interval)
	_, _, body := h.get("/charts?window=1h")
	if n := strings.Count(body, `class="outage"`); n < 3 { // one band on each of the 3 charts
		t.Errorf("%d outage bands, want one per chart", n)
	}
	if n := strings.Count(body, `class="rekey"`); n < 3 {
		t.Errorf("%d rekey marks, want one per chart", n)
	}
	_, _, js := h.get("/api/charts?window=1h")
	if !strings.Contains(js, `"ike_outages"`) || !strings.Contains(js, `"child_rekeys"`) || strings.Count(js, `"tunnel": "site1"`) < 2 {
		t.Errorf("charts JSON lacks events: %.400s", js)
	}
}

// fillHistory adds 150 samples (25 minutes) from start: an IKE SA outage
// at samples 50-80 and a CHILD SA rekey at sample 101, with traffic.
func fillHistory(rec *metrics.Recorder, start time.Time) {
	for i := 0; i < 150; i++ {
		ts := start.Add(time.Duration(i) * metrics.Interval)
		up := i < 50 || i > 80
		spi := "c1"
		if i > 100 {
			spi = "c2"
		}
		wave := uint64(i*i%97) * 3000
		tun := metrics.Tunnel{Name: "site1", BytesIn: uint64(i)*40000 + wave, BytesOut: uint64(i)*15000 + wave/3, IKEUp: up, Alive: up}
		if up {
			tun.ChildIDs = []string{spi}
		}
		rec.Add(metrics.Sample{Time: ts, CPUPercent: 5 + float64(i%13), MemUsed: 600<<20 + uint64(i)<<20, MemTotal: 2 << 30, Tunnels: []metrics.Tunnel{tun}})
	}
}
