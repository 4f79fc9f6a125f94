package monitor

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
)

// Spec says what to probe and how often.
type Spec struct {
	// Name identifies the monitored remote (its tunnel name, e.g. hq-r1).
	Name     string
	Prober   Prober
	Interval time.Duration
	Timeout  time.Duration
	// Retries is how many probes in a row must fail before the remote is
	// reported down (at least 1).
	Retries int
}

// Event is an up/down transition of one monitor, with the time it was
// decided (for alarms and for measuring failover gaps).
type Event struct {
	Name string
	Up   bool
	Time time.Time
	// Reason says why, e.g. "3 probes in a row failed (last: timeout)".
	Reason string
	// RTT is the round trip of the probe that brought the monitor up.
	RTT time.Duration
}

func (e Event) String() string {
	s := "down"
	if e.Up {
		s = "up"
	}
	return fmt.Sprintf("%s %s %s: %s", e.Time.Format(time.RFC3339Nano), e.Name, s, e.Reason)
}

// Prober sends one probe and waits for its answer until ctx ends; nil
// means the target answered.
type Prober interface {
	Probe(ctx context.Context) error
	String() string
}

// FromSite builds the spec for remote i of a site from a config with
// defaults applied. ok is false when the site has no monitor target: the
// remote's health then comes from charon alone.
func FromSite(s config.Site, i int) (Spec, bool, error) {
	m := s.Monitor
	target := m.Target
	if t := s.Remotes[i].MonitorTarget; t != "" {
		target = t
	}
	if target == "" {
		return Spec{}, false, nil
	}
	spec := Spec{
		Name:     config.RemoteTunnelName(s.Name, i),
		Interval: m.Interval.D,
		Timeout:  m.Timeout.D,
		Retries:  m.Retries,
	}
	switch m.Type {
	case config.MonitorTCP:
		ap, err := netip.ParseAddrPort(target)
		if err != nil {
			return Spec{}, false, fmt.Errorf("monitor target %q: %w", target, err)
		}
		spec.Prober = TCP{Target: ap, Source: m.Source.Addr}
	default:
		a, err := netip.ParseAddr(target)
		if err != nil {
			return Spec{}, false, fmt.Errorf("monitor target %q: %w", target, err)
		}
		spec.Prober = &ICMP{Target: a, Source: m.Source.Addr}
	}
	return spec, true, nil
}

// Tracker turns probe results into transitions: the first success after
// down (or at start) is up; Retries failures in a row are down. It is
// pure, so tests drive it without a network.
type Tracker struct {
	Name    string
	Retries int
	state   int // 0 unknown, 1 up, -1 down
	fails   int
}

// Observe records one probe result at now and returns the transition it
// causes, if any.
func (t *Tracker) Observe(err error, rtt time.Duration, now time.Time) (Event, bool) {
	if err == nil {
		t.fails = 0
		if t.state == 1 {
			return Event{}, false
		}
		t.state = 1
		return Event{Name: t.Name, Up: true, Time: now, RTT: rtt, Reason: fmt.Sprintf("probe answered in %s", rtt.Round(time.Microsecond))}, true
	}
	t.fails++
	retries := max(t.Retries, 1)
	if t.state == -1 || t.fails < retries {
		return Event{}, false
	}
	t.state = -1
	return Event{Name: t.Name, Up: false, Time: now, Reason: fmt.Sprintf("%d probes in a row failed (last: %v)", t.fails, err)}, true
}

// Up reports the last decided state (false while unknown).
func (t *Tracker) Up() bool { return t.state == 1 }

// Run probes every Interval until ctx ends and calls report on each
// transition. Probes run one at a time in the calling goroutine, so a
// caller that locked its thread into a network namespace probes from
// there. now is the clock for event times (nil: time.Now).
func Run(ctx context.Context, s Spec, now func() time.Time, report func(Event)) {
	if now == nil {
		now = time.Now
	}
	tr := Tracker{Name: s.Name, Retries: s.Retries}
	tick := time.NewTicker(s.Interval)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, s.Timeout)
		start := now()
		err := s.Prober.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if ev, ok := tr.Observe(err, now().Sub(start), now()); ok {
			report(ev)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
