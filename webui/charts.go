package webui

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/webui/metrics"
)

// adminVerify reports whether password matches the stored hash.
func adminVerify(password, hash string) bool { return adminpw.Verify(hash, password) == nil }

// chartWindows are the Metrics page's windows.
var chartWindows = map[string]time.Duration{"1h": time.Hour, "6h": 6 * time.Hour, "24h": 24 * time.Hour}

// chartsData is the Metrics page's data; the JSON answer carries the raw
// series and events, the page carries SVG built here (no script, no
// chart library).
type chartsData struct {
	Window  string           `json:"window"`
	Tunnel  string           `json:"tunnel"`
	Tunnels []string         `json:"tunnels"`
	Points  []point          `json:"points"`
	Outages []metrics.Outage `json:"ike_outages"`
	Rekeys  []metrics.Rekey  `json:"child_rekeys"`
	Hours   []metrics.Hour   `json:"hours,omitempty"`
	Traffic string           `json:"-"`
	Live    string           `json:"-"`
	Load    string           `json:"-"`
}

// point is one step of the series: throughput in bytes/s, liveness of the
// selected tunnel(s), CPU percent and memory percent.
type point struct {
	Time   time.Time `json:"time"`
	RxBps  float64   `json:"rx_bps"`
	TxBps  float64   `json:"tx_bps"`
	Up     bool      `json:"ike_up"`
	Alive  bool      `json:"alive"`
	CPU    float64   `json:"cpu_percent"`
	MemPct float64   `json:"mem_percent"`
}

func (s *Server) charts(w http.ResponseWriter, r *http.Request, sess *session) {
	win, d, tunnel := decodeChartsQuery(r.URL.Query())
	now := s.now()
	since := now.Add(-d)
	cd := chartsData{Window: win, Tunnel: tunnel}
	samples := s.rec.Samples(since)
	seen := map[string]bool{}
	for _, smp := range samples {
		for _, t := range smp.Tunnels {
			if !seen[t.Name] {
				seen[t.Name] = true
				cd.Tunnels = append(cd.Tunnels, t.Name)
			}
		}
	}
	if !seen[cd.Tunnel] {
		cd.Tunnel = ""
	}
	cd.Points = series(samples, cd.Tunnel, 360)
	outs, keys := s.rec.Events(since)
	for _, o := range outs {
		if cd.Tunnel == "" || o.Tunnel == cd.Tunnel {
			cd.Outages = append(cd.Outages, o)
		}
	}
	for _, k := range keys {
		if cd.Tunnel == "" || k.Tunnel == cd.Tunnel {
			cd.Rekeys = append(cd.Rekeys, k)
		}
	}
	if wantJSON(r) {
		cd.Hours = s.rec.Hours()
		writeJSON(w, http.StatusOK, cd)
		return
	}
	cd.Traffic = chartSVG(cd, since, now, "traffic")
	cd.Live = chartSVG(cd, since, now, "live")
	cd.Load = chartSVG(cd, since, now, "load")
	p := s.base(sess, "Metrics", "charts")
	p.Data = cd
	s.render(w, r, "charts", p)
}

// series turns counter samples into at most n points of rates, summing
// tunnels (or taking one).
func series(samples []metrics.Sample, tunnel string, n int) []point {
	var pts []point
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		dt := b.Time.Sub(a.Time).Seconds()
		if dt <= 0 {
			continue
		}
		prev := map[string]metrics.Tunnel{}
		for _, t := range a.Tunnels {
			prev[t.Name] = t
		}
		pt := point{Time: b.Time, CPU: b.CPUPercent, Up: true, Alive: true}
		if b.MemTotal > 0 {
			pt.MemPct = 100 * float64(b.MemUsed) / float64(b.MemTotal)
		}
		any := false
		for _, t := range b.Tunnels {
			if tunnel != "" && t.Name != tunnel {
				continue
			}
			any = true
			if p, ok := prev[t.Name]; ok {
				pt.RxBps += float64(counterDelta(p.BytesIn, t.BytesIn)) / dt
				pt.TxBps += float64(counterDelta(p.BytesOut, t.BytesOut)) / dt
			}
			pt.Up = pt.Up && t.IKEUp
			pt.Alive = pt.Alive && t.Alive
		}
		if !any {
			pt.Up, pt.Alive = false, false
		}
		pts = append(pts, pt)
	}
	if len(pts) <= n {
		return pts
	}
	// Average buckets down to n points (keep "down" if any sample was).
	out := make([]point, 0, n)
	per := (len(pts) + n - 1) / n
	for i := 0; i < len(pts); i += per {
		j := min(i+per, len(pts))
		agg := point{Time: pts[j-1].Time, Up: true, Alive: true}
		for _, p := range pts[i:j] {
			agg.RxBps += p.RxBps / float64(j-i)
			agg.TxBps += p.TxBps / float64(j-i)
			agg.CPU = max(agg.CPU, p.CPU)
			agg.MemPct = max(agg.MemPct, p.MemPct)
			agg.Up = agg.Up && p.Up
			agg.Alive = agg.Alive && p.Alive
		}
		out = append(out, agg)
	}
	return out
}

func counterDelta(a, b uint64) uint64 {
	if b >= a {
		return b - a
	}
	return b
}

const chartW, chartH = 720.0, 160.0

// chartSVG draws one chart: "traffic" (rx/tx), "live" (IKE up and
// liveness strips) or "load" (CPU and memory). Every chart carries red
// bands for IKE SA outages and amber marks for CHILD SA rekeys, so a
// throughput dip lines up with its cause.
func chartSVG(cd chartsData, from, to time.Time, kind string) string {
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 {
		v := t.Sub(from).Seconds() / span * chartW
		return min(max(v, 0), chartW)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" class="chart" role="img" aria-label="%s">`, chartW, chartH+16, kind)
	fmt.Fprintf(&b, `<rect class="bg" width="%.0f" height="%.0f"/>`, chartW, chartH)
	for _, o := range cd.Outages {
		end := o.End
		if end.IsZero() {
			end = to
		}
		x0, x1 := x(o.Start), x(end)
		fmt.Fprintf(&b, `<rect class="outage" x="%.1f" y="0" width="%.1f" height="%.0f"><title>IKE SA down (%s)</title></rect>`, x0, max(x1-x0, 2), chartH, escAttr(o.Tunnel))
	}
	for _, k := range cd.Rekeys {
		fmt.Fprintf(&b, `<line class="rekey" x1="%.1f" x2="%.1f" y1="0" y2="%.0f"><title>CHILD SA rekey (%s)</title></line>`, x(k.Time), x(k.Time), chartH, escAttr(k.Tunnel))
	}
	line := func(class string, val func(point) float64, top float64) {
		if len(cd.Points) == 0 || top <= 0 {
			return
		}
		fmt.Fprintf(&b, `<polyline class="%s" points="`, class)
		for _, p := range cd.Points {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.Time), chartH-val(p)/top*(chartH-4))
		}
		b.WriteString(`"/>`)
	}
	label := ""
	switch kind {
	case "traffic":
		top := 1.0
		for _, p := range cd.Points {
			top = max(top, p.RxBps, p.TxBps)
		}
		line("rx", func(p point) float64 { return p.RxBps }, top)
		line("tx", func(p point) float64 { return p.TxBps }, top)
		label = "peak " + humanBytes(uint64(top)) + "/s"
	case "live":
		for _, p := range cd.Points {
			cls := "up"
			if !p.Up {
				cls = "down"
			} else if !p.Alive {
				cls = "stale"
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.0f" width="3" height="40"/>`, cls, x(p.Time)-3, chartH/2-20)
		}
		label = "green: IKE SA up and peer answering; grey: up, no recent liveness answer; red: down"
	case "load":
		line("cpu", func(p point) float64 { return p.CPU }, 100)
		line("mem", func(p point) float64 { return p.MemPct }, 100)
		label = "0-100%"
	}
	fmt.Fprintf(&b, `<text x="4" y="%.0f">%s</text></svg>`, chartH+13, escAttr(label))
	return b.String()
}

func escAttr(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	return r.Replace(s)
}
