package sysinfo

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CPUMeter turns /proc/stat's counters into the busy share since the
// previous reading (the metrics sampler reads every few seconds). The
// zero value reads /proc; it is safe for concurrent use.
type CPUMeter struct {
	// Proc is the /proc directory ("" is /proc).
	Proc string
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu         sync.Mutex
	busy, all  uint64
	last       float64
	lastSample time.Time
}

// Percent is the share of CPU time spent busy since the last reading, 0
// to 100 (0 at the first reading, which has nothing to compare with).
func (m *CPUMeter) Percent() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	// Page views between samples reuse the last figure: a delta over a
	// few milliseconds says nothing.
	t := now()
	if !m.lastSample.IsZero() && t.Sub(m.lastSample) < time.Second {
		return m.last
	}
	proc := m.Proc
	if proc == "" {
		proc = "/proc"
	}
	data, _ := os.ReadFile(filepath.Join(proc, "stat"))
	busy, all, ok := CPUTimes(string(data))
	if !ok {
		return 0
	}
	if m.all != 0 && all > m.all {
		m.last = 100 * float64(busy-m.busy) / float64(all-m.all)
	}
	m.busy, m.all, m.lastSample = busy, all, t
	return m.last
}

// CPUTimes sums the "cpu" line of /proc/stat: all ticks, and all but idle
// and iowait.
func CPUTimes(stat string) (busy, all uint64, ok bool) {
	for _, line := range strings.Split(stat, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		for i, v := range f[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			all += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		return busy, all, true
	}
	return 0, 0, false
}
