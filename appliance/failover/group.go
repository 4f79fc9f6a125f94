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

// Group runs every site of a config: one Runner and one monitor each.
type Group struct {
	sites   []config.Site
	runners []*Runner
	clock   Clock
}

// NewGroup makes runners for cfg's sites (defaults applied here).
func NewGroup(cfg config.Config, o Options) *Group {
	cfg = cfg.WithDefaults()
	g := &Group{sites: cfg.Sites, clock: o.Clock}
	if g.clock == nil {
		g.clock = realClock{}
	}
	for _, s := range cfg.Sites {
		g.runners = append(g.runners, NewRunner(s, o))
	}
	return g
}

// Run runs every site's runner and monitor until ctx ends.
func (g *Group) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, r := range g.runners {
		wg.Add(2)
		go func() { defer wg.Done(); r.Run(ctx) }()
		go func() { defer wg.Done(); g.runMonitor(ctx, r, g.sites[i]) }()
	}
	wg.Wait()
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
	for _, r := range g.runners {
		r.ObserveTunnels(sts)
	}
}

// Active maps site name to the active remote, for config.Expand.
func (g *Group) Active() map[string]int {
	m := map[string]int{}
	for _, r := range g.runners {
		m[r.Site] = r.Active()
	}
	return m
}

// Status lists every site's state.
func (g *Group) Status() []Status {
	var out []Status
	for _, r := range g.runners {
		out = append(out, r.Status())
	}
	return out
}

// RestartRemote restarts remote (1-based, as operators count) of a site.
func (g *Group) RestartRemote(site string, remote int) error {
	for _, r := range g.runners {
		if r.Site == site {
			return r.RestartRemote(remote - 1)
		}
	}
	return fmt.Errorf("no site %q", site)
}
