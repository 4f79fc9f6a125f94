package console

import (
	"strings"
	"sync"
)

// LogRing keeps the last lines written to it, for the console menu's
// "view the logs": init's log goes to the consoles and here, so an
// operator who connects late still sees how the boot went. It never grows
// beyond its capacity.
type LogRing struct {
	mu      sync.Mutex
	lines   []string // circular once full
	next    int
	partial string
	max     int
}

// NewLogRing keeps the last n lines.
func NewLogRing(n int) *LogRing {
	if n < 1 {
		n = 1
	}
	return &LogRing{max: n}
}

// maxLine bounds one stored line, so a runaway line cannot grow the ring.
const maxLine = 1024

// Write stores p's complete lines; a line without its newline waits for
// the next write.
func (r *LogRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	text := r.partial + string(p)
	lines := strings.Split(text, "\n")
	r.partial = lines[len(lines)-1]
	if len(r.partial) > maxLine {
		r.add(r.partial)
		r.partial = ""
	}
	for _, l := range lines[:len(lines)-1] {
		r.add(l)
	}
	return len(p), nil
}

func (r *LogRing) add(l string) {
	if len(l) > maxLine {
		l = l[:maxLine] + "…"
	}
	if len(r.lines) < r.max {
		r.lines = append(r.lines, l)
		return
	}
	r.lines[r.next] = l
	r.next = (r.next + 1) % r.max
}

// Lines returns the stored lines, oldest first.
func (r *LogRing) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}
