package sites

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/failover"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// siteState is the failover of sites with several remotes (issue 8): one
// failover.Group (runners and monitors), made when charon starts and
// updated site by site after (updateSites). Wiring as in
// appliance/failover's example.
type siteState struct {
	mu     sync.Mutex
	group  *failover.Group
	cancel context.CancelFunc
	gen    int // bumped whenever the group is replaced
	// epoch counts the runners made for each site: an activation by a
	// runner Update replaced carries an older one and is ignored.
	epoch map[string]int

	syslogTo   string
	syslogStop context.CancelFunc
}

// updateSites makes the running group follow cfg's sites one by one
// (failover.Group.Update): a new or changed site starts on its preferred
// remote with its alarms cleared; the others keep their runners, active
// remotes and alarms. A profile's change reaches charon (its remotes'
// connections are reloaded), not the runners. It returns the sites
// started afresh. Under m.mu.
func (m *Manager) updateSites(run *running, cfg config.Config) []string {
	g := m.Group()
	started, stopped := g.Update(cfg)
	m.sites.mu.Lock()
	for _, name := range stopped {
		m.sites.epoch[name]++ // activations of the stopped runner are stale
	}
	m.sites.mu.Unlock()
	now := time.Now()
	for _, name := range append(slices.Clone(started), stopped...) {
		delete(run.active, name)
		m.alarms.Clear(now, alarm.SiteKey(name), "the site was reconfigured")
		for i := range config.MaxRemotes {
			m.alarms.Clear(now, alarm.RemoteKey(config.RemoteTunnelName(name, i)), "the site was reconfigured")
		}
	}
	if len(started)+len(stopped) > 0 {
		m.o.Log.Info("failover: sites reconfigured", "started", fmt.Sprint(started), "stopped", fmt.Sprint(stopped))
	}
	return started
}

// stopSites ends the running group. It does not wait for it: a runner may
// be waiting for m.mu in its activator, which the caller may hold; the
// generation check keeps a stale activation from touching policies.
func (m *Manager) stopSites() {
	m.sites.mu.Lock()
	defer m.sites.mu.Unlock()
	if m.sites.cancel != nil {
		m.sites.cancel()
	}
	m.sites.group, m.sites.cancel = nil, nil
	m.sites.gen++
	// The new group judges every remote afresh (and raises again what is
	// still down); a removed site's alarms would otherwise stay for ever.
	for _, a := range m.alarms.Active() {
		m.alarms.Clear(time.Now(), a.Key, "the sites were reconfigured")
	}
}

// startSites runs the failover of cfg's sites (cfg with defaults applied):
// monitors, runners, alarms, and charon's view fed in. run's policies must
// already be those of cfg.Expand(run.active) and charon must have every
// remote loaded (cfg.AllTunnels). Apply calls it under m.mu, Start before
// it publishes run.
func (m *Manager) startSites(run *running, cfg config.Config) {
	m.attachAlarmSyslog(cfg)
	client := run.client()
	if len(cfg.Sites) == 0 || client == nil {
		return
	}

	m.sites.mu.Lock()
	m.sites.gen++
	gen := m.sites.gen
	m.sites.mu.Unlock()

	group := failover.NewGroup(cfg, failover.Options{
		ActivatorFor: func(site string) failover.Activator { return m.activator(run, gen, m.nextEpoch(site)) },
		Restarter:    failover.IKERestarter{IKE: client},
		OnEvent: func(e failover.Event) {
			// One line each, with the decision's own timestamp: the
			// failover benchmark splits gaps with these.
			m.o.Log.Info("failover " + e.String())
			m.alarms.FailoverEvent(e)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	m.sites.mu.Lock()
	m.sites.group, m.sites.cancel = group, cancel
	m.sites.mu.Unlock()
	go group.Run(ctx)
	m.observeTunnels(client)
	names := make([]string, 0, len(cfg.Sites))
	for _, s := range cfg.Sites {
		names = append(names, fmt.Sprintf("%s (%d remotes)", s.Name, len(s.Remotes)))
	}
	m.o.Log.Info("failover: sites running", "sites", fmt.Sprint(names))
}

// nextEpoch starts a new runner's epoch for site.
func (m *Manager) nextEpoch(site string) int {
	m.sites.mu.Lock()
	defer m.sites.mu.Unlock()
	if m.sites.epoch == nil {
		m.sites.epoch = map[string]int{}
	}
	m.sites.epoch[site]++
	return m.sites.epoch[site]
}

// activator moves a site's policies under the same lock as a config
// apply (m.mu), and with the same Expand, so neither undoes the other.
// XFRM_MSG_UPDPOLICY replaces each policy in place: the remote networks
// are never without one (see failover's doc). gen is the generation of
// the group it serves, epoch that of the site's runner.
func (m *Manager) activator(run *running, gen, epoch int) failover.ActivatorFunc {
	return func(site string, remote int) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.sites.mu.Lock()
		stale := gen != m.sites.gen || epoch != m.sites.epoch[site]
		m.sites.mu.Unlock()
		if stale {
			return nil // a newer config replaced this group
		}
		run.active[site] = remote
		if err := m.install(run); err != nil {
			return fmt.Errorf("move site %s to remote %d: %w", site, remote+1, err)
		}
		return nil
	}
}

// observeTunnels hands charon's view (DPD, deletes, new SAs) to the sites.
// The group is read under the lock but fed outside it: feeding may wait
// for a runner that waits for m.mu.
func (m *Manager) observeTunnels(c Client) {
	sts := c.Status()
	for _, st := range sts {
		// Not Connected(): it waits for a running VICI command.
		if st.IKEState != "" || st.Colour != ipsec.Gray {
			m.charonSeen.Store(true)
		}
	}
	if !m.charonSeen.Load() {
		return
	}
	if g := m.Group(); g != nil {
		g.ObserveTunnels(sts)
	}
}

// Sites is every site's failover state, for the web UI and console.
func (m *Manager) Sites() []failover.Status {
	if g := m.Group(); g != nil {
		return g.Status()
	}
	return nil
}

// RestartRemote is "restart ipsec remote" (remote counts from 1).
func (m *Manager) RestartRemote(site string, remote int) error {
	g := m.Group()
	if g == nil {
		return fmt.Errorf("no site has several remotes running (is charon up?)")
	}
	m.o.Log.Info("restart remote requested", "site", site, "remote", remote)
	return g.RestartRemote(site, remote)
}
