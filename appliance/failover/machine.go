package failover

import (
	"fmt"
	"time"
)

// InputKind is what happened to a remote.
type InputKind int

const (
	// TunnelUp: charon has the remote's IKE SA and CHILD_SA (green).
	// Input.Since is when that IKE SA was established.
	TunnelUp InputKind = iota
	// TunnelDown: charon lost the remote's SAs (orange, DPD, delete).
	TunnelDown
	// MonitorUp and MonitorDown come from the site's monitor, which probes
	// through the active remote; they are ignored for other remotes.
	MonitorUp
	MonitorDown
)

func (k InputKind) String() string {
	return [...]string{"tunnel-up", "tunnel-down", "monitor-up", "monitor-down"}[k]
}

// Input is one observation about remote Remote (an index into the site's remotes).
type Input struct {
	Kind   InputKind
	Remote int
	Reason string
	Since  time.Time
}

// ActionKind is what the machine asks the world to do.
type ActionKind int

const (
	// Restart terminates and re-initiates the remote's IKE SA.
	Restart ActionKind = iota
	// Activate moves the site's remote networks to the remote.
	Activate
)

func (k ActionKind) String() string { return [...]string{"restart", "activate"}[k] }

// Action is one thing to do for the site.
type Action struct {
	Kind   ActionKind
	Remote int
}

// EventKind classifies what the machine decided; alarms and the bench
// read these.
type EventKind string

const (
	RemoteDown EventKind = "remote-down"
	RemoteUp   EventKind = "remote-up"
	Restarted  EventKind = "restart"
	Failover   EventKind = "failover"
	Failback   EventKind = "failback"
	SiteDown   EventKind = "site-down"
	SiteUp     EventKind = "site-up"
	// Activated is reported by the Runner once the Activator returned:
	// the policies point at the new remote from then on. Failover to
	// Activated is the time the box itself adds to a failover gap.
	Activated EventKind = "activated"
)

// Event is a decision with its time: the failover gap in the bench is the
// time between the RemoteDown (or the cut) and the Failover event and the
// first packet through.
type Event struct {
	Time   time.Time `json:"time"`
	Site   string    `json:"site"`
	Kind   EventKind `json:"kind"`
	Remote int       `json:"remote"` // 0-based; for Failover/Failback the new one
	From   int       `json:"from"`   // Failover/Failback: the previous remote; -1 otherwise
	Reason string    `json:"reason,omitempty"`
}

func (e Event) String() string {
	s := fmt.Sprintf("%s site %s %s remote %d", e.Time.Format(time.RFC3339Nano), e.Site, e.Kind, e.Remote+1)
	if e.From >= 0 {
		s += fmt.Sprintf(" (from remote %d)", e.From+1)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Settings are a site's failover timings.
type Settings struct {
	Site    string
	Remotes int
	// HoldDown is how long a more preferred remote must be healthy before
	// the site returns to it.
	HoldDown time.Duration
	// RestartGrace is how long a failed active remote has to recover
	// after its restart before the site fails over.
	RestartGrace time.Duration
	// Monitored says the site has a monitor: the active remote is healthy
	// only once the monitor has seen it answer since its activation.
	// Unmonitored lists remotes without one (a per-remote target only on
	// some remotes); their health comes from charon alone.
	Monitored   bool
	Unmonitored []bool
}

// maxFlapShift caps the hold-down growth at 16x.
const maxFlapShift = 4

type remote struct {
	tunnelUp     bool
	tunnelKnown  bool
	tunnelSince  time.Time // when the current IKE SA was established
	monitor      int       // 0 unknown, 1 up, -1 down (active remote only)
	suspect      bool      // failed; needs an SA established after failedAt
	failedAt     time.Time
	healthySince time.Time // zero while unhealthy
	activatedAt  time.Time
	flaps        int
	downReported bool
}

// Machine is one site's failover state. It is not safe for concurrent
// use; Runner serialises access.
type Machine struct {
	s         Settings
	r         []remote
	active    int
	restartBy time.Time // zero unless waiting for the active remote's restart
	siteDown  bool
	events    []Event
}

// NewMachine starts with remote 0 active, as Expand(nil) installs it.
func NewMachine(s Settings) *Machine {
	return &Machine{s: s, r: make([]remote, max(s.Remotes, 1))}
}

// Active is the index of the remote that carries the site's networks.
func (m *Machine) Active() int { return m.active }

// SiteIsDown reports whether no remote carries the site.
func (m *Machine) SiteIsDown() bool { return m.siteDown }

// Events returns and clears the events decided since the last call.
func (m *Machine) Events() []Event {
	ev := m.events
	m.events = nil
	return ev
}

// RemoteState is one remote's state for status pages.
type RemoteState struct {
	Active       bool          `json:"active"`
	Healthy      bool          `json:"healthy"`
	Suspect      bool          `json:"suspect"`   // failed; waits for a fresh SA
	TunnelUp     bool          `json:"tunnel_up"` // charon's view
	HealthySince time.Time     `json:"healthy_since,omitzero"`
	HoldDown     time.Duration `json:"hold_down_ns"` // current, after flap doubling
	// Monitor is what the site's monitor last said of this remote: "up",
	// "down", or "" when it has not probed it (only the active remote is
	// probed) or the remote has no monitor target.
	Monitor string `json:"monitor,omitempty"`
}

// Remotes returns each remote's state.
func (m *Machine) Remotes() []RemoteState {
	out := make([]RemoteState, len(m.r))
	for i := range m.r {
		out[i] = RemoteState{Active: i == m.active, Healthy: m.healthy(i), Suspect: m.r[i].suspect, TunnelUp: m.r[i].tunnelUp, HealthySince: m.r[i].healthySince, HoldDown: m.holdDown(i)}
		switch m.r[i].monitor {
		case 1:
			out[i].Monitor = "up"
		case -1:
			out[i].Monitor = "down"
		}
	}
	return out
}

func (m *Machine) emit(now time.Time, k EventKind, remote, from int, reason string) {
	m.events = append(m.events, Event{Time: now, Site: m.s.Site, Kind: k, Remote: remote, From: from, Reason: reason})
}

func (m *Machine) holdDown(i int) time.Duration {
	return m.s.HoldDown << min(m.r[i].flaps, maxFlapShift)
}

// healthy: charon has a tunnel established after any failure, and for
// the active remote of a monitored site the monitor has not said down
// (and has said up since activation).
func (m *Machine) healthy(i int) bool {
	r := &m.r[i]
	if !r.tunnelUp || r.suspect {
		return false
	}
	if i == m.active && m.s.Monitored && !(i < len(m.s.Unmonitored) && m.s.Unmonitored[i]) {
		return r.monitor == 1
	}
	return true
}

// update recomputes healthySince for every remote after a change.
func (m *Machine) update(now time.Time) {
	for i := range m.r {
		h := m.healthy(i)
		switch {
		case h && m.r[i].healthySince.IsZero():
			m.r[i].healthySince = now
		case !h:
			m.r[i].healthySince = time.Time{}
		}
	}
}

// Handle feeds one observation and returns the actions to take now.
func (m *Machine) Handle(now time.Time, in Input) []Action {
	if in.Remote < 0 || in.Remote >= len(m.r) {
		return nil
	}
	r := &m.r[in.Remote]
	wasHealthy := m.healthy(in.Remote)
	switch in.Kind {
	case TunnelUp:
		since := in.Since
		if since.IsZero() {
			since = now
		}
		r.tunnelUp, r.tunnelKnown, r.tunnelSince = true, true, since
		if r.suspect && since.After(r.failedAt) {
			r.suspect = false
		}
	case TunnelDown:
		r.tunnelUp, r.tunnelKnown = false, true
	case MonitorUp:
		if in.Remote != m.active {
			return nil
		}
		r.monitor = 1
		if r.suspect && r.tunnelUp {
			// Traffic crosses the remote again: the restart worked (or
			// the path healed under the same SA).
			r.suspect = false
		}
	case MonitorDown:
		if in.Remote != m.active {
			return nil
		}
		r.monitor = -1
	}
	m.update(now)
	var acts []Action
	nowHealthy := m.healthy(in.Remote)
	switch {
	case wasHealthy && !nowHealthy:
		r.downReported = true
		m.emit(now, RemoteDown, in.Remote, -1, in.Reason)
		if in.Remote == m.active {
			acts = append(acts, m.failActive(now, in.Reason)...)
		}
	case !wasHealthy && nowHealthy:
		if r.downReported {
			r.downReported = false
			m.emit(now, RemoteUp, in.Remote, -1, in.Reason)
		}
		if in.Remote == m.active && !m.restartBy.IsZero() {
			m.restartBy = time.Time{} // the restart worked
		}
	case !wasHealthy && !nowHealthy && !r.downReported && (in.Kind == TunnelDown || in.Kind == MonitorDown):
		// A remote that never came up (since boot) is down too.
		r.downReported = true
		m.emit(now, RemoteDown, in.Remote, -1, in.Reason)
		if in.Remote == m.active && m.restartBy.IsZero() && !m.siteDown {
			acts = append(acts, m.failActive(now, in.Reason)...)
		}
	}
	return append(acts, m.decide(now)...)
}

// failActive starts the restart of the failed active remote.
func (m *Machine) failActive(now time.Time, reason string) []Action {
	r := &m.r[m.active]
	if !r.activatedAt.IsZero() && now.Sub(r.activatedAt) < m.holdDown(m.active) {
		r.flaps++
	} else {
		r.flaps = 0
	}
	r.suspect, r.failedAt = true, now
	m.update(now)
	m.restartBy = now.Add(m.s.RestartGrace)
	m.emit(now, Restarted, m.active, -1, reason)
	return []Action{{Restart, m.active}}
}

// Tick advances the clock to now and returns the actions due.
func (m *Machine) Tick(now time.Time) []Action { return m.decide(now) }

// Next is when the machine next needs a Tick (zero: only on input).
func (m *Machine) Next() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	consider(m.restartBy)
	if !m.restartBy.IsZero() || m.siteDown {
		return next
	}
	for i := 0; i < m.active; i++ {
		if !m.r[i].healthySince.IsZero() {
			consider(m.r[i].healthySince.Add(m.holdDown(i)))
		}
	}
	return next
}

// decide moves the site when a restart grace ran out, when the site is
// down and a remote is healthy, or when a more preferred remote has been
// healthy for its hold-down.
func (m *Machine) decide(now time.Time) []Action {
	if !m.restartBy.IsZero() {
		if m.healthy(m.active) {
			m.restartBy = time.Time{}
		} else if now.Before(m.restartBy) {
			return nil
		} else {
			m.restartBy = time.Time{}
			from := m.active
			for i := range m.r {
				if i != from && m.healthy(i) {
					return m.activate(now, i, Failover, fmt.Sprintf("remote %d did not recover within %s of its restart", from+1, m.s.RestartGrace))
				}
			}
			if !m.siteDown {
				m.siteDown = true
				m.emit(now, SiteDown, from, -1, "no remote is healthy")
			}
			return nil
		}
	}
	if m.siteDown {
		for i := range m.r {
			if m.healthy(i) {
				m.siteDown = false
				if i == m.active {
					m.emit(now, SiteUp, i, -1, "the active remote recovered")
					return nil
				}
				acts := m.activate(now, i, Failover, "the first remote to recover")
				m.emit(now, SiteUp, i, -1, "")
				return acts
			}
		}
		return nil
	}
	for i := 0; i < m.active; i++ {
		hs := m.r[i].healthySince
		if !hs.IsZero() && !now.Before(hs.Add(m.holdDown(i))) {
			return m.activate(now, i, Failback, fmt.Sprintf("remote %d healthy for %s", i+1, m.holdDown(i)))
		}
	}
	return nil
}

func (m *Machine) activate(now time.Time, i int, k EventKind, reason string) []Action {
	from := m.active
	m.r[from].monitor = 0
	m.active = i
	m.r[i].monitor = 0
	m.r[i].activatedAt = now
	m.update(now)
	m.emit(now, k, i, from, reason)
	return []Action{{Activate, i}}
}
