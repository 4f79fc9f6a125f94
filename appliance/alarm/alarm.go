// Package alarm keeps the box's alarms: raised with a time and a reason
// when a remote or a site goes down, cleared when it recovers, kept in a
// bounded history, and pushed to subscribers (console, web UI, remote
// syslog; see Syslog).
package alarm

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/failover"
)

// Severity of a change, with syslog's numbering.
type Severity int

const (
	Error   Severity = 3 // a site is down: its traffic stops
	Warning Severity = 4 // a remote is down: the site may still run
	Notice  Severity = 5 // a clear, a failover or failback
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "notice"
}

// Alarm is one raised condition.
type Alarm struct {
	// Key names the object: "site:hq", "remote:hq-r1".
	Key      string    `json:"key"`
	Severity Severity  `json:"severity"`
	Raised   time.Time `json:"raised"`
	Reason   string    `json:"reason"`
	// Cleared is zero while the alarm is active.
	Cleared     time.Time `json:"cleared,omitzero"`
	ClearReason string    `json:"clear_reason,omitempty"`
}

// Active reports whether the alarm is still raised.
func (a Alarm) Active() bool { return a.Cleared.IsZero() }

// ChangeKind says what happened.
type ChangeKind string

const (
	Raised  ChangeKind = "raised"
	Cleared ChangeKind = "cleared"
	// Info is a notice that is no alarm (a failover, a failback); it goes
	// to the history and to subscribers.
	Info ChangeKind = "info"
)

// Change is one entry of the history and what subscribers get.
type Change struct {
	Time     time.Time  `json:"time"`
	Kind     ChangeKind `json:"kind"`
	Key      string     `json:"key"`
	Severity Severity   `json:"severity"`
	Reason   string     `json:"reason"`
}

func (c Change) String() string {
	return fmt.Sprintf("%s alarm %s %s (%s): %s", c.Time.UTC().Format("2006-01-02 15:04:05.000"), c.Key, c.Kind, c.Severity, c.Reason)
}

// DefaultHistory is how many changes Manager keeps.
const DefaultHistory = 256

// Manager holds active alarms and the history. Safe for concurrent use.
type Manager struct {
	mu      sync.Mutex
	active  map[string]*Alarm
	hist    []Change // ring, oldest first once full
	max     int
	subs    map[int]chan Change
	nextSub int
	dropped int
}

// New keeps up to history changes (DefaultHistory when <= 0).
func New(history int) *Manager {
	if history <= 0 {
		history = DefaultHistory
	}
	return &Manager{active: map[string]*Alarm{}, max: history, subs: map[int]chan Change{}}
}

// Raise raises an alarm for key; raising an active one again only
// updates nothing (the first time and reason stand).
func (m *Manager) Raise(now time.Time, key string, sev Severity, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, on := m.active[key]; on {
		return
	}
	m.active[key] = &Alarm{Key: key, Severity: sev, Raised: now, Reason: reason}
	m.record(Change{Time: now, Kind: Raised, Key: key, Severity: sev, Reason: reason})
}

// Clear clears key's alarm, if raised.
func (m *Manager) Clear(now time.Time, key, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, on := m.active[key]
	if !on {
		return
	}
	delete(m.active, key)
	if reason == "" {
		reason = "recovered"
	}
	m.record(Change{Time: now, Kind: Cleared, Key: key, Severity: Notice, Reason: fmt.Sprintf("%s (down %s)", reason, now.Sub(a.Raised).Round(time.Millisecond))})
}

// Note records a notice that raises nothing.
func (m *Manager) Note(now time.Time, key, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record(Change{Time: now, Kind: Info, Key: key, Severity: Notice, Reason: reason})
}

func (m *Manager) record(c Change) {
	if len(m.hist) == m.max {
		copy(m.hist, m.hist[1:])
		m.hist = m.hist[:m.max-1]
	}
	m.hist = append(m.hist, c)
	for _, ch := range m.subs {
		select {
		case ch <- c:
		default:
			m.dropped++ // a stuck subscriber never blocks failover
		}
	}
}

// Active lists the raised alarms, oldest first.
func (m *Manager) Active() []Alarm {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Alarm
	for _, a := range m.active {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Alarm) int {
		if c := a.Raised.Compare(b.Raised); c != 0 {
			return c
		}
		return compareStrings(a.Key, b.Key)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// History returns the kept changes, oldest first.
func (m *Manager) History() []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.hist)
}

// Dropped counts changes a full subscriber missed.
func (m *Manager) Dropped() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// Subscribe returns a channel of changes (buffered; a full one misses
// changes rather than blocking the box) and a cancel function.
func (m *Manager) Subscribe(buf int) (<-chan Change, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan Change, max(buf, 1))
	id := m.nextSub
	m.nextSub++
	m.subs[id] = ch
	return ch, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.subs[id]; ok {
			delete(m.subs, id)
			close(ch)
		}
	}
}

// Attach runs fn for each change until ctx ends (console, syslog).
func (m *Manager) Attach(ctx context.Context, fn func(Change)) {
	ch, cancel := m.Subscribe(64)
	go func() {
		<-ctx.Done()
		cancel()
	}()
	go func() {
		for c := range ch {
			fn(c)
		}
	}()
}

// Console writes each change as one line (for the serial console).
func Console(w io.Writer) func(Change) {
	return func(c Change) { fmt.Fprintln(w, c) }
}

// Keys for sites and remotes.
func SiteKey(site string) string     { return "site:" + site }
func RemoteKey(tunnel string) string { return "remote:" + tunnel }

// ESPKey names a tunnel's "no inbound ESP while IKE is up" alarm.
func ESPKey(tunnel string) string { return "esp:" + tunnel }

// FailoverEvent turns a failover decision into alarms: a remote or a
// site that goes down raises one, its recovery clears it, and failovers,
// failbacks and restarts are noted in the history.
func (m *Manager) FailoverEvent(e failover.Event) {
	remote := RemoteKey(config.RemoteTunnelName(e.Site, e.Remote))
	switch e.Kind {
	case failover.RemoteDown:
		m.Raise(e.Time, remote, Warning, e.Reason)
	case failover.RemoteUp:
		m.Clear(e.Time, remote, e.Reason)
	case failover.SiteDown:
		m.Raise(e.Time, SiteKey(e.Site), Error, "no remote of the site is healthy")
	case failover.SiteUp:
		m.Clear(e.Time, SiteKey(e.Site), fmt.Sprintf("remote %d carries the site", e.Remote+1))
	default:
		m.Note(e.Time, SiteKey(e.Site), e.String())
	}
}
