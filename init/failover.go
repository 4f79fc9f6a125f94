package main

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/failover"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/opmenu"
)

// siteCtl runs the failover of sites with several remotes (issue 8): one
// failover.Group (runners and monitors) per applied set of sites, and the
// alarms, which live for the whole boot so their history survives config
// changes. Wiring as in appliance/failover's example.
type siteCtl struct {
	mu       sync.Mutex
	group    *failover.Group
	cancel   context.CancelFunc
	gen      int // bumped whenever the group is replaced
	sites    []config.Site
	profiles []config.Profile

	alarmsOnce sync.Once
	alarms     *alarm.Manager
	syslogTo   string
	syslogStop context.CancelFunc

	// charonSeen: the VICI client has been connected once. Before that
	// every remote reads "not connected", which is no news of a remote
	// (it would raise alarms and restarts at every boot).
	charonSeen atomic.Bool
}

// alarmManager makes the boot's alarms once; every change goes to the
// console and init's log ring (the menu's "view logs", the Logs page),
// and to remote syslog as an alarm message (attachAlarmSyslog), not also
// as a log line.
func (b *box) alarmManager() *alarm.Manager {
	b.sites.alarmsOnce.Do(func() {
		log := b.localLog
		b.sites.alarms = alarm.New(alarm.DefaultHistory)
		b.sites.alarms.Attach(context.Background(), func(c alarm.Change) {
			switch {
			case c.Kind == alarm.Raised && c.Severity == alarm.Error:
				log.Error("ALARM " + c.Key + " raised: " + c.Reason)
			case c.Kind == alarm.Raised:
				log.Warn("ALARM " + c.Key + " raised: " + c.Reason)
			case c.Kind == alarm.Cleared:
				log.Info("ALARM " + c.Key + " cleared: " + c.Reason)
			default:
				log.Info("alarm note " + c.Key + ": " + c.Reason)
			}
		})
	})
	return b.sites.alarms
}

// attachAlarmSyslog sends alarms to the config's remote syslog server,
// following changes of the setting. General log forwarding is
// init/syslog.go's; this only adds the alarms.
func (b *box) attachAlarmSyslog(cfg config.Config) {
	m := b.alarmManager()
	to := cfg.System.RemoteSyslog
	b.sites.mu.Lock()
	defer b.sites.mu.Unlock()
	if to == b.sites.syslogTo {
		return
	}
	if b.sites.syslogStop != nil {
		b.sites.syslogStop()
		b.sites.syslogStop = nil
	}
	b.sites.syslogTo = to
	if to == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.sites.syslogStop = cancel
	sl := alarm.NewSyslog(to, cfg.System.Hostname)
	failing := false
	m.Attach(ctx, func(c alarm.Change) {
		err := sl.Send(c)
		if err != nil && !failing {
			b.log.Warn("alarms: remote syslog", "to", to, "err", err)
		}
		failing = err != nil
	})
	go func() { <-ctx.Done(); sl.Close() }()
}

// sitesChanged reports whether cfg's sites (or the profiles they use)
// differ from those the running group was made for.
func (b *box) sitesChanged(cfg config.Config) bool {
	b.sites.mu.Lock()
	defer b.sites.mu.Unlock()
	return !reflect.DeepEqual(cfg.Sites, b.sites.sites) || !reflect.DeepEqual(cfg.Profiles, b.sites.profiles)
}

// stopSites ends the running group. It does not wait for it: a runner may
// be waiting for ipsecCtl.mu in its activator, which the caller may hold;
// the generation check keeps a stale activation from touching policies.
func (b *box) stopSites() {
	b.sites.mu.Lock()
	defer b.sites.mu.Unlock()
	if b.sites.cancel != nil {
		b.sites.cancel()
	}
	b.sites.group, b.sites.cancel = nil, nil
	b.sites.sites, b.sites.profiles = nil, nil
	b.sites.gen++
	// The new group judges every remote afresh (and raises again what is
	// still down); a removed site's alarms would otherwise stay for ever.
	if m := b.sites.alarms; m != nil {
		for _, a := range m.Active() {
			m.Clear(time.Now(), a.Key, "the sites were reconfigured")
		}
	}
}

// startSites runs the failover of cfg's sites (cfg with defaults applied):
// monitors, runners, alarms, and charon's view fed in. st's policies must
// already be those of cfg.Expand(st.active) and charon must have every
// remote loaded (cfg.AllTunnels).
func (b *box) startSites(st *ipsecState, cfg config.Config) {
	b.attachAlarmSyslog(cfg)
	if len(cfg.Sites) == 0 || st == nil || st.runner == nil {
		b.sites.mu.Lock()
		b.sites.sites, b.sites.profiles = cfg.Sites, cfg.Profiles
		b.sites.mu.Unlock()
		return
	}
	alarms := b.alarmManager()
	client := st.runner.Client

	b.sites.mu.Lock()
	b.sites.gen++
	gen := b.sites.gen
	b.sites.mu.Unlock()

	// The activator moves a site's policies under the same lock as a
	// config apply (ipsecCtl.mu), and with the same Expand, so neither
	// undoes the other. XFRM_MSG_UPDPOLICY replaces each policy in place:
	// the remote networks are never without one (see failover's doc).
	activate := failover.ActivatorFunc(func(site string, remote int) error {
		b.ipsecCtl.mu.Lock()
		defer b.ipsecCtl.mu.Unlock()
		b.sites.mu.Lock()
		stale := gen != b.sites.gen
		b.sites.mu.Unlock()
		if stale {
			return nil // a newer config replaced this group
		}
		st.active[site] = remote
		if err := st.install(b); err != nil {
			return fmt.Errorf("move site %s to remote %d: %w", site, remote+1, err)
		}
		return nil
	})
	group := failover.NewGroup(cfg, failover.Options{
		Activator: activate,
		Restarter: failover.IKERestarter{IKE: client},
		OnEvent: func(e failover.Event) {
			// One line each, with the decision's own timestamp: the
			// failover benchmark splits gaps with these.
			b.log.Info("failover " + e.String())
			alarms.FailoverEvent(e)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	b.sites.mu.Lock()
	b.sites.group, b.sites.cancel = group, cancel
	b.sites.sites, b.sites.profiles = cfg.Sites, cfg.Profiles
	b.sites.mu.Unlock()
	go group.Run(ctx)
	b.observeTunnels(client)
	names := make([]string, 0, len(cfg.Sites))
	for _, s := range cfg.Sites {
		names = append(names, fmt.Sprintf("%s (%d remotes)", s.Name, len(s.Remotes)))
	}
	b.log.Info("failover: sites running", "sites", fmt.Sprint(names))
}

// siteGroup is the running group, nil without sites.
func (b *box) siteGroup() *failover.Group {
	b.sites.mu.Lock()
	defer b.sites.mu.Unlock()
	return b.sites.group
}

// observeTunnels hands charon's view (DPD, deletes, new SAs) to the sites.
// The group is read under the lock but fed outside it: feeding may wait
// for a runner that waits for ipsecCtl.mu.
func (b *box) observeTunnels(c *ipsec.Client) {
	sts := c.Status()
	for _, st := range sts {
		// Not Connected(): it waits for a running VICI command.
		if st.IKEState != "" || st.Colour != ipsec.Gray {
			b.sites.charonSeen.Store(true)
		}
	}
	if !b.sites.charonSeen.Load() {
		return
	}
	if g := b.siteGroup(); g != nil {
		g.ObserveTunnels(sts)
	}
}

// siteStatus is every site's failover state, for the web UI and console.
func (b *box) siteStatus() []failover.Status {
	if g := b.siteGroup(); g != nil {
		return g.Status()
	}
	return nil
}

// restartRemote is "restart ipsec remote" (remote counts from 1).
func (b *box) restartRemote(site string, remote int) error {
	g := b.siteGroup()
	if g == nil {
		return fmt.Errorf("no site has several remotes running (is charon up?)")
	}
	b.log.Info("restart remote requested", "site", site, "remote", remote)
	return g.RestartRemote(site, remote)
}

// siteMenu is the console menu's view of the sites (opmenu.SiteItems).
func (b *box) siteMenu() *opmenu.Sites {
	return &opmenu.Sites{Status: b.siteStatus, Alarms: b.alarmManager, RestartRemote: b.restartRemote}
}
