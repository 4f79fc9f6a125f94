package failover

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/monitor"
)

// Activator moves a site's remote networks to one of its remotes. The
// lead implements it by re-applying XFRM policies for
// cfg.Expand(active) (see the package doc for why that never sends clear
// text). It must be idempotent: a failed activation is retried.
type Activator interface {
	Activate(site string, remote int) error
}

// ActivatorFunc adapts a function.
type ActivatorFunc func(site string, remote int) error

func (f ActivatorFunc) Activate(site string, remote int) error { return f(site, remote) }

// Restarter restarts one remote's tunnel by its charon connection name.
type Restarter interface {
	Restart(tunnel string) error
}

// Clock is time for the runner; tests inject a fake.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// retryActivate is how soon a failed activation is tried again.
var retryActivate = time.Second

// Runner drives one site's Machine: it takes observations from charon
// and the monitor, ticks the machine on time, and performs its actions.
type Runner struct {
	Site    string
	tunnels []string // charon connection names, by remote index
	act     Activator
	rst     Restarter
	clock   Clock
	onEvent func(Event)

	in   chan Input
	mu   sync.Mutex
	m    *Machine
	last []tunnelSeen // last charon state sent per remote
	// everUp: charon has had the remote's tunnel up since boot. Until
	// then its first negotiation is no news, and the monitor waits.
	everUp []bool
	// pending is an activation that failed and is retried.
	pending *Action
	// changed is closed (and replaced) when the active remote changes.
	changed chan struct{}
}

type tunnelSeen struct {
	known bool
	up    bool
	since time.Time
}

// Options are a Runner's collaborators; Clock and OnEvent may be nil.
type Options struct {
	Activator Activator
	// ActivatorFor, when set, gives each runner a Group makes its own
	// Activator instead (a site changed by Group.Update gets a new one,
	// so an activation still under way for the runner it replaced can
	// be told apart and ignored).
	ActivatorFor func(site string) Activator
	Restarter    Restarter
	Clock        Clock
	// OnEvent gets every decision with its time (alarms, logs, bench).
	// It may be called from several goroutines (a failed restart reports
	// from its own) and must not block long.
	OnEvent func(Event)
}

// NewRunner makes a runner for a site of a config with defaults applied.
func NewRunner(s config.Site, o Options) *Runner {
	r := &Runner{
		Site: s.Name, act: o.Activator, rst: o.Restarter, clock: o.Clock, onEvent: o.OnEvent,
		in: make(chan Input, 64), changed: make(chan struct{}),
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	for i := range s.Remotes {
		r.tunnels = append(r.tunnels, config.RemoteTunnelName(s.Name, i))
	}
	r.last = make([]tunnelSeen, len(s.Remotes))
	r.everUp = make([]bool, len(s.Remotes))
	r.m = NewMachine(Settings{
		Site: s.Name, Remotes: len(s.Remotes),
		HoldDown: s.HoldDown.D, RestartGrace: s.RestartGrace.D,
		Monitored: true, Unmonitored: unmonitored(s),
	})
	return r
}

// unmonitored lists the remotes with no monitor target (site-wide or their own).
func unmonitored(s config.Site) []bool {
	out := make([]bool, len(s.Remotes))
	for i, r := range s.Remotes {
		out[i] = s.Monitor.Target == "" && r.MonitorTarget == ""
	}
	return out
}

// remoteOf maps a tunnel name to a remote index.
func (r *Runner) remoteOf(tunnel string) int {
	for i, n := range r.tunnels {
		if n == tunnel {
			return i
		}
	}
	return -1
}

// Send queues an observation.
func (r *Runner) Send(in Input) { r.in <- in }

// ObserveTunnels feeds charon's view (ipsec.Client.Status after each
// Changed) and sends an input only when a remote's state changed. A new
// IKE SA (a different Established) counts as a change: a restart that
// came back between two looks is still seen.
func (r *Runner) ObserveTunnels(sts []ipsec.TunnelStatus) {
	for _, st := range sts {
		i := r.remoteOf(st.Name)
		if i < 0 {
			continue
		}
		up := st.Colour == ipsec.Green
		r.mu.Lock()
		prev := r.last[i]
		cur := tunnelSeen{known: true, up: up}
		if up {
			cur.since = st.Established
		}
		changed := prev != cur
		// Gray (never up since boot) is not news until charon gave up a
		// first attempt; orange always is. A first attempt still under
		// way (an IKE SA CONNECTING, or ESTABLISHED and waiting for its
		// CHILD_SA) is not news either: restarting it would only abort it.
		first := !r.everUp[i] && (st.IKEState == "CONNECTING" || st.IKEState == "ESTABLISHED")
		if !up && st.Colour == ipsec.Gray && (st.Reason == "" || first) {
			changed = false
		}
		r.everUp[i] = r.everUp[i] || up
		if changed {
			r.last[i] = cur
		}
		r.mu.Unlock()
		if !changed {
			continue
		}
		if up {
			r.Send(Input{Kind: TunnelUp, Remote: i, Since: st.Established, Reason: "tunnel established"})
		} else {
			reason := st.Reason
			if reason == "" {
				reason = "tunnel down"
			}
			r.Send(Input{Kind: TunnelDown, Remote: i, Reason: reason})
		}
	}
}

// ObserveMonitor feeds a monitor event (monitor.Spec.Name is the remote's
// tunnel name).
func (r *Runner) ObserveMonitor(e monitor.Event) {
	i := r.remoteOf(e.Name)
	if i < 0 {
		return
	}
	k := MonitorDown
	if e.Up {
		k = MonitorUp
	}
	r.Send(Input{Kind: k, Remote: i, Reason: e.Reason})
}

// EverUp reports whether charon has had remote i's tunnel up since boot.
func (r *Runner) EverUp(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return i >= 0 && i < len(r.everUp) && r.everUp[i]
}

// Active is the remote that carries the site now.
func (r *Runner) Active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m.Active()
}

// ActiveTunnel is the charon name of the active remote (the monitor
// attributes its events to it).
func (r *Runner) ActiveTunnel() string { return r.tunnels[r.Active()] }

// Changed is closed when the active remote changes (the site monitor
// then restarts to probe for the new one).
func (r *Runner) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Status is the site's state for status pages.
type Status struct {
	Site    string        `json:"site"`
	Active  int           `json:"active"` // 0-based index into Remotes
	Down    bool          `json:"down"`
	Remotes []RemoteState `json:"remotes"`
}

func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Status{Site: r.Site, Active: r.m.Active(), Down: r.m.SiteIsDown(), Remotes: r.m.Remotes()}
}

// RestartRemote is the operator's "restart ipsec remote": it restarts
// remote i's tunnel now. Restarting the active remote takes its traffic
// down for a moment; the machine then treats it like any failure.
func (r *Runner) RestartRemote(i int) error {
	if i < 0 || i >= len(r.tunnels) {
		return fmt.Errorf("site %s has no remote %d", r.Site, i+1)
	}
	r.event(Event{Time: r.clock.Now(), Site: r.Site, Kind: Restarted, Remote: i, From: -1, Reason: "on request"})
	return r.rst.Restart(r.tunnels[i])
}

func (r *Runner) event(e Event) {
	if r.onEvent != nil {
		r.onEvent(e)
	}
}

// Run serves the site until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	for {
		r.mu.Lock()
		before := r.m.Active()
		next := r.m.Next()
		pending := r.pending != nil
		r.mu.Unlock()
		var wake <-chan time.Time
		switch {
		case pending:
			wake = r.clock.After(retryActivate)
		case !next.IsZero():
			wake = r.clock.After(max(next.Sub(r.clock.Now()), 0))
		}
		var acts []Action
		select {
		case <-ctx.Done():
			return
		case in := <-r.in:
			r.mu.Lock()
			acts = r.m.Handle(r.clock.Now(), in)
		case <-wake:
			r.mu.Lock()
			acts = r.m.Tick(r.clock.Now())
		}
		evs := r.m.Events()
		if r.pending != nil && !containsActivate(acts) {
			acts = append(acts, *r.pending)
		}
		r.pending = nil
		if r.m.Active() != before {
			close(r.changed)
			r.changed = make(chan struct{})
		}
		r.mu.Unlock()
		for _, e := range evs {
			r.event(e)
		}
		r.perform(acts)
	}
}

func containsActivate(acts []Action) bool {
	for _, a := range acts {
		if a.Kind == Activate {
			return true
		}
	}
	return false
}

func (r *Runner) perform(acts []Action) {
	for _, a := range acts {
		switch a.Kind {
		case Activate:
			start := r.clock.Now()
			if err := r.act.Activate(r.Site, a.Remote); err != nil {
				r.event(Event{Time: r.clock.Now(), Site: r.Site, Kind: "activate-failed", Remote: a.Remote, From: -1, Reason: err.Error()})
				r.mu.Lock()
				r.pending = &a
				r.mu.Unlock()
				continue
			}
			now := r.clock.Now()
			r.event(Event{Time: now, Site: r.Site, Kind: Activated, Remote: a.Remote, From: -1, Reason: fmt.Sprintf("policies moved in %s", now.Sub(start).Round(time.Microsecond))})
		case Restart:
			// Off the loop: a restart waits for the DELETE to go out, and
			// must not delay a failover decided meanwhile.
			name, i := r.tunnels[a.Remote], a.Remote
			go func() {
				if err := r.rst.Restart(name); err != nil {
					r.event(Event{Time: r.clock.Now(), Site: r.Site, Kind: "restart-failed", Remote: i, From: -1, Reason: err.Error()})
				}
			}()
		}
	}
}

// IKE is what restarting a remote needs from the VICI client
// (*ipsec.Client has both).
type IKE interface {
	Terminate(name string) error
	Initiate(name string) error
}

// IKERestarter restarts a remote as 128T's `restart ipsec remote` does:
// terminate its IKE SA (and CHILD_SAs), give the DELETE a moment to go
// out, and initiate afresh. Sleep defaults to time.Sleep.
type IKERestarter struct {
	IKE    IKE
	Settle time.Duration
	Sleep  func(time.Duration)
}

func (r IKERestarter) Restart(tunnel string) error {
	terr := r.IKE.Terminate(tunnel)
	// Terminate of a tunnel charon holds no SA for is fine: initiate anyway.
	sleep := r.Sleep
	if sleep == nil {
		sleep = time.Sleep
	}
	settle := r.Settle
	if settle == 0 {
		settle = 200 * time.Millisecond
	}
	sleep(settle)
	if err := r.IKE.Initiate(tunnel); err != nil {
		if terr != nil {
			return fmt.Errorf("restart %s: terminate: %v; initiate: %w", tunnel, terr, err)
		}
		return fmt.Errorf("restart %s: %w", tunnel, err)
	}
	return nil
}
