package supervise

import (
	"sync"
	"time"
)

// LogLine is one line a service wrote, or one event the supervisor logged
// about it (Stream "supervise").
type LogLine struct {
	Time   time.Time
	Stream string // "stdout", "stderr" or "supervise"
	Text   string
}

// ring keeps the last lines of a service's output for the web UI. Times are
// made strictly increasing so a reader polling with the time of the last
// line it saw never misses or repeats a line.
type ring struct {
	mu    sync.Mutex
	lines []LogLine // circular, len == capacity once full
	next  int       // where the next line goes once full
	last  time.Time
}

func newRing(capacity int) *ring {
	return &ring{lines: make([]LogLine, 0, capacity)}
}

// add stores l, stamping it with a time after every line already stored,
// and returns the line as stored.
func (r *ring) add(l LogLine) LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	l.Time = l.Time.Round(0) // wall clock only, comparable with parsed times
	if !l.Time.After(r.last) {
		l.Time = r.last.Add(time.Nanosecond)
	}
	r.last = l.Time
	if len(r.lines) < cap(r.lines) {
		r.lines = append(r.lines, l)
		return l
	}
	r.lines[r.next] = l
	r.next = (r.next + 1) % len(r.lines)
	return l
}

// since returns, oldest first, the stored lines stamped after t.
func (r *ring) since(t time.Time) []LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LogLine
	n := len(r.lines)
	for i := 0; i < n; i++ {
		l := r.lines[(r.next+i)%n]
		if l.Time.After(t) {
			out = append(out, l)
		}
	}
	return out
}
