package failover

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/monitor"
)

// Group runs every site of a config: one Runner and one monitor each.
// Update changes the sites one by one, so a change to one site leaves
// the others' runners (their active remote, health and hold-down) alone.
type Group struct {
	o     Options
	clock Clock

	mu      sync.Mutex
	members []*member       // in config order
	ctx     context.Context // Run's; nil before Run
	ended   bool            // Run's context ended: start nothing more
	wg      sync.WaitGroup  // the members' goroutines
}

// member is one site's runner and how to stop it.
type member struct {
	site   config.Site // defaults applied
	r      *Runner
	cancel context.CancelFunc // nil until started
}

// NewGroup makes runners for cfg's sites (defaults applied here).
func NewGroup(cfg config.Config, o Options) *Group {
	g := &Group{o: o, clock: o.Clock}
	if g.clock == nil {
		g.clock = realClock{}
	}
	for _, s := range cfg.WithDefaults().Sites {
		g.members = append(g.members, g.newMember(s))
	}
	return g
}

// newMember makes a site's runner, with its own activator when
// Options.ActivatorFor asks for one.
func (g *Group) newMember(s config.Site) *member {
	o := g.o
	if o.ActivatorFor != nil {
		o.Activator = o.ActivatorFor(s.Name)
	}
	return &member{site: s, r: NewRunner(s, o)}
}

// Run runs every site's runner and monitor, and those Update adds, until
// ctx ends.
func (g *Group) Run(ctx context.Context) {
	g.mu.Lock()
	g.ctx = ctx
	for _, m := range g.members {
		g.start(m)
	}
	g.mu.Unlock()
	<-ctx.Done()
	g.mu.Lock()
	g.ended = true
	g.mu.Unlock()
	g.wg.Wait()
}

// start runs m's runner and monitor. Under g.mu, once Run has begun.
func (g *Group) start(m *member) {
	if g.ctx == nil || g.ended {
		return
	}
	ctx, cancel := context.WithCancel(g.ctx)
	m.cancel = cancel
	g.wg.Add(2)
	go func() { defer g.wg.Done(); m.r.Run(ctx) }()
	go func() { defer g.wg.Done(); g.runMonitor(ctx, m.r, m.site) }()
}

// Update makes the group run cfg's sites. A site whose settings are
// unchanged keeps its runner; a new or changed site gets a new runner,
// on its preferred remote; a removed site's runner stops. It returns the
// names of the sites started afresh and of those stopped (a changed
// site is in both).
func (g *Group) Update(cfg config.Config) (started, stopped []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := map[string]*member{}
	for _, m := range g.members {
		old[m.site.Name] = m
	}
	var next []*member
	for _, s := range cfg.WithDefaults().Sites {
		if m, ok := old[s.Name]; ok && reflect.DeepEqual(m.site, s) {
			next = append(next, m)
			delete(old, s.Name)
			continue
		}
		m := g.newMember(s)
		g.start(m)
		next = append(next, m)
		started = append(started, s.Name)
	}
	for _, m := range g.members {
		if _, gone := old[m.site.Name]; gone {
			if m.cancel != nil {
				m.cancel()
			}
			stopped = append(stopped, m.site.Name)
		}
	}
	g.members = next
	return started, stopped
}

// runners returns the current runners, in config order.
func (g *Group) runners() []*Runner {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*Runner, len(g.members))
	for i, m := range g.members {
		out[i] = m.r
	}
	return out
}

// runMonitor probes through the active remote and starts over, attributed
// to the new remote, whenever the site moves.
func (g *Group) runMonitor(ctx context.Context, r *Runner, s config.Site) {
	for {
		changed := r.Changed()
		spec, ok, err := monitor.FromSite(s, r.Active())
		if err != nil || !ok {
			select { // no monitor for this remote: wait for a move
			case <-ctx.Done():
				return
			case <-changed:
				continue
			}
		}
		// Probes cross the tunnel: before the remote's first SA they can
		// only fail, and would fail a remote charon is still bringing up.
		if !g.waitEverUp(ctx, r, changed) {
			if ctx.Err() != nil {
				return
			}
			continue // the site moved meanwhile
		}
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			monitor.Run(mctx, spec, g.clock.Now, r.ObserveMonitor)
		}()
		select {
		case <-ctx.Done():
		case <-changed:
		}
		cancel()
		<-done
		if ctx.Err() != nil {
			return
		}
	}
}

// everUpPoll is how often a monitor waiting for its remote's first SA looks.
var everUpPoll = 200 * time.Millisecond

// waitEverUp waits until the active remote's tunnel has been up once; false
// when ctx ended or the site moved first.
func (g *Group) waitEverUp(ctx context.Context, r *Runner, changed <-chan struct{}) bool {
	for !r.EverUp(r.Active()) {
		select {
		case <-ctx.Done():
			return false
		case <-changed:
			return false
		case <-time.After(everUpPoll):
		}
	}
	return true
}

// ObserveTunnels hands charon's view to every site.
func (g *Group) ObserveTunnels(sts []ipsec.TunnelStatus) {
	for _, r := range g.runners() {
		r.ObserveTunnels(sts)
	}
}

// Active maps site name to the active remote, for config.Expand.
func (g *Group) Active() map[string]int {
	m := map[string]int{}
	for _, r := range g.runners() {
		m[r.Site] = r.Active()
	}
	return m
}

// Status lists every site's state.
func (g *Group) Status() []Status {
	var out []Status
	for _, r := range g.runners() {
		out = append(out, r.Status())
	}
	return out
}

// RestartRemote restarts remote (1-based, as operators count) of a site.
func (g *Group) RestartRemote(site string, remote int) error {
	for _, r := range g.runners() {
		if r.Site == site {
			return r.RestartRemote(remote - 1)
		}
	}
	return fmt.Errorf("no site %q", site)
}
