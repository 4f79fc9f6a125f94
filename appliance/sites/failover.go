package sites

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/failover"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// siteState is the failover of sites with several remotes (issue 8): one
// failover.Group (runners and monitors) per applied set of sites. Wiring
// as in appliance/failover's example.
type siteState struct {
	mu       sync.Mutex
	group    *failover.Group
	cancel   context.CancelFunc
	gen      int // bumped whenever the group is replaced
	sites    []config.Site
	profiles []config.Profile

	syslogTo   string
	syslogStop context.CancelFunc
}

// sitesChanged reports whether cfg's sites (or the profiles they use)
// differ from those the running group was made for.
func (m *Manager) sitesChanged(cfg config.Config) bool {
	m.sites.mu.Lock()
	defer m.sites.mu.Unlock()
	return !reflect.DeepEqual(cfg.Sites, m.sites.sites) || !reflect.DeepEqual(cfg.Profiles, m.sites.profiles)
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
	m.sites.sites, m.sites.profiles = nil, nil
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
		m.sites.mu.Lock()
		m.sites.sites, m.sites.profiles = cfg.Sites, cfg.Profiles
		m.sites.mu.Unlock()
		return
	}

	m.sites.mu.Lock()
	m.sites.gen++
	gen := m.sites.gen
	m.sites.mu.Unlock()

	group := failover.NewGroup(cfg, failover.Options{
		Activator: m.activator(run, gen),
		Restarter: failover.IKERestarter{IKE: client},
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
	m.sites.sites, m.sites.profiles = cfg.Sites, cfg.Profiles
	m.sites.mu.Unlock()
	go group.Run(ctx)
	m.observeTunnels(client)
	names := make([]string, 0, len(cfg.Sites))
	for _, s := range cfg.Sites {
		names = append(names, fmt.Sprintf("%s (%d remotes)", s.Name, len(s.Remotes)))
	}
	m.o.Log.Info("failover: sites running", "sites", fmt.Sprint(names))
}

// activator moves a site's policies under the same lock as a config
// apply (m.mu), and with the same Expand, so neither undoes the other.
// XFRM_MSG_UPDPOLICY replaces each policy in place: the remote networks
// are never without one (see failover's doc). gen is the generation of
// the group it serves.
func (m *Manager) activator(run *running, gen int) failover.ActivatorFunc {
	return func(site string, remote int) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.sites.mu.Lock()
		stale := gen != m.sites.gen
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
