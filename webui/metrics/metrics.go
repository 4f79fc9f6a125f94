// Package metrics keeps the web UI's time series: a ring of status samples
// covering at least 24 hours in memory, the IKE outages and CHILD SA rekeys
// seen in them, and an hourly summary persisted on /perm so a reboot does
// not erase what happened yesterday.
//
// Samples are plain counters; throughput is derived from the differences
// of consecutive samples, so a missed sample costs resolution, not totals.
package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Interval is how often init (via webui.Server.Run) takes a sample.
const Interval = 10 * time.Second

// DefaultCapacity holds 25 hours of samples at Interval, a little more
// than the 24 hours the Metrics page offers.
const DefaultCapacity = int(25 * time.Hour / Interval)

// SummaryFile is the name of the persisted hourly summary.
const SummaryFile = "metrics-summary.json"

// keepHours is how many hours of summary are kept (31 days).
const keepHours = 31 * 24

// Tunnel is one tunnel's counters and state in a sample.
type Tunnel struct {
	Name     string
	BytesIn  uint64
	BytesOut uint64
	IKEUp    bool     // IKE SA established
	Alive    bool     // last liveness check answered
	ChildIDs []string // inbound SPIs of the CHILD SAs; a change is a rekey
}

// Sample is the state of the box at one moment.
type Sample struct {
	Time       time.Time
	CPUPercent float64
	MemUsed    uint64
	MemTotal   uint64
	Tunnels    []Tunnel
}

// Outage is a time an IKE SA was down. End is zero while it lasts.
type Outage struct {
	Tunnel string    `json:"tunnel"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end,omitzero"`
}

// Rekey is a moment a CHILD SA was replaced.
type Rekey struct {
	Tunnel string    `json:"tunnel"`
	Time   time.Time `json:"time"`
}

// Hour is one hour of one tunnel (Tunnel "" is the box: CPU and memory).
type Hour struct {
	Start    time.Time `json:"start"`
	Tunnel   string    `json:"tunnel,omitempty"`
	RxBytes  uint64    `json:"rx_bytes,omitempty"`
	TxBytes  uint64    `json:"tx_bytes,omitempty"`
	UpSecs   float64   `json:"up_seconds,omitempty"`
	DownSecs float64   `json:"down_seconds,omitempty"`
	Outages  int       `json:"outages,omitempty"`
	Rekeys   int       `json:"rekeys,omitempty"`
	CPUMax   float64   `json:"cpu_max,omitempty"`
	MemMax   uint64    `json:"mem_max,omitempty"`
}

// Recorder keeps samples, events and the hourly summary. It is safe for
// concurrent use (the sampler writes, pages read).
type Recorder struct {
	mu      sync.Mutex
	ring    []Sample
	next    int // where the next sample goes
	full    bool
	outages []Outage
	rekeys  []Rekey
	hours   []Hour
	last    *Sample
}

// New returns a Recorder holding capacity samples (DefaultCapacity if <= 0).
func New(capacity int) *Recorder {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Recorder{ring: make([]Sample, capacity)}
}

// Add records s, which must be newer than the previous sample.
func (r *Recorder) Add(s Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Tunnels = slices.Clone(s.Tunnels)
	if r.last != nil && !s.Time.After(r.last.Time) {
		return
	}
	r.track(s)
	r.ring[r.next] = s
	r.next = (r.next + 1) % len(r.ring)
	if r.next == 0 {
		r.full = true
	}
	r.last = &r.ring[(r.next-1+len(r.ring))%len(r.ring)]
	r.prune(s.Time.Add(-time.Duration(len(r.ring)) * Interval))
}

// track derives events and the hourly summary from the step prev -> s.
func (r *Recorder) track(s Sample) {
	prev := map[string]Tunnel{}
	var dt float64
	if r.last != nil {
		for _, t := range r.last.Tunnels {
			prev[t.Name] = t
		}
		dt = s.Time.Sub(r.last.Time).Seconds()
	}
	hourStart := s.Time.Truncate(time.Hour)
	box := r.hour(hourStart, "")
	box.CPUMax = max(box.CPUMax, s.CPUPercent)
	box.MemMax = max(box.MemMax, s.MemUsed)
	for _, t := range s.Tunnels {
		h := r.hour(hourStart, t.Name)
		p, seen := prev[t.Name]
		if seen {
			// Counters restart from 0 when an SA is replaced; count the new
			// value then, not a huge negative difference.
			h.RxBytes += delta(p.BytesIn, t.BytesIn)
			h.TxBytes += delta(p.BytesOut, t.BytesOut)
			if t.IKEUp {
				h.UpSecs += dt
			} else {
				h.DownSecs += dt
			}
		}
		wasUp := !seen || p.IKEUp
		switch {
		case wasUp && !t.IKEUp:
			r.outages = append(r.outages, Outage{Tunnel: t.Name, Start: s.Time})
			h.Outages++
		case !wasUp && t.IKEUp:
			for i := len(r.outages) - 1; i >= 0; i-- {
				if o := &r.outages[i]; o.Tunnel == t.Name && o.End.IsZero() {
					o.End = s.Time
					break
				}
			}
		}
		if seen && p.IKEUp && t.IKEUp && len(p.ChildIDs) > 0 && len(t.ChildIDs) > 0 && !sameSet(p.ChildIDs, t.ChildIDs) {
			r.rekeys = append(r.rekeys, Rekey{Tunnel: t.Name, Time: s.Time})
			h.Rekeys++
		}
	}
}

func delta(a, b uint64) uint64 {
	if b >= a {
		return b - a
	}
	return b
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (r *Recorder) hour(start time.Time, tunnel string) *Hour {
	for i := len(r.hours) - 1; i >= 0 && i >= len(r.hours)-64; i-- {
		if h := &r.hours[i]; h.Start.Equal(start) && h.Tunnel == tunnel {
			return h
		}
	}
	r.hours = append(r.hours, Hour{Start: start, Tunnel: tunnel})
	return &r.hours[len(r.hours)-1]
}

func (r *Recorder) prune(before time.Time) {
	r.outages = slices.DeleteFunc(r.outages, func(o Outage) bool { return !o.End.IsZero() && o.End.Before(before) })
	r.rekeys = slices.DeleteFunc(r.rekeys, func(k Rekey) bool { return k.Time.Before(before) })
	cut := before.Add(-keepHours * time.Hour)
	r.hours = slices.DeleteFunc(r.hours, func(h Hour) bool { return h.Start.Before(cut) })
}

// Samples returns the samples newer than since, oldest first.
func (r *Recorder) Samples(since time.Time) []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Sample
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	start := 0
	if r.full {
		start = r.next
	}
	for i := range n {
		s := r.ring[(start+i)%len(r.ring)]
		if s.Time.After(since) {
			out = append(out, s)
		}
	}
	return out
}

// Events returns the outages and rekeys that touch [since, now].
func (r *Recorder) Events(since time.Time) ([]Outage, []Rekey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var os []Outage
	for _, o := range r.outages {
		if o.End.IsZero() || o.End.After(since) {
			os = append(os, o)
		}
	}
	var ks []Rekey
	for _, k := range r.rekeys {
		if k.Time.After(since) {
			ks = append(ks, k)
		}
	}
	return os, ks
}

// Hours returns the hourly summary, oldest first.
func (r *Recorder) Hours() []Hour {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hours)
}

type summaryFile struct {
	Version int      `json:"version"`
	Hours   []Hour   `json:"hours"`
	Outages []Outage `json:"outages,omitempty"`
}

// Save writes the hourly summary and recent outages to dir atomically.
func (r *Recorder) Save(dir string) error {
	r.mu.Lock()
	sf := summaryFile{Version: 1, Hours: slices.Clone(r.hours)}
	sf.Outages = slices.Clone(r.outages)
	r.mu.Unlock()
	b, err := json.Marshal(sf)
	if err != nil {
		return fmt.Errorf("encode metrics summary: %w", err)
	}
	tmp := filepath.Join(dir, SummaryFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("save metrics summary: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, SummaryFile))
	}
	if err != nil {
		return fmt.Errorf("save metrics summary: %w", err)
	}
	return nil
}

// Load reads a summary saved by Save into r (before sampling starts). A
// missing file is not an error; a corrupt one is reported and ignored.
func (r *Recorder) Load(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load metrics summary: %w", err)
	}
	var sf summaryFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return fmt.Errorf("load metrics summary: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hours = append(sf.Hours, r.hours...)
	for _, o := range sf.Outages {
		if o.End.IsZero() { // the box went down during the outage
			continue
		}
		r.outages = append(r.outages, o)
	}
	return nil
}
