// Package sites runs the tunnels and sites at run time: the box's XFRM
// policies kept equal to cfg.Expand(active remotes), charon's connections,
// the failover group of sites with several remotes, and the boot's alarms.
//
// One Manager lives for the whole boot. Start brings up what the boot's
// config asks for once the IPsec kernel modules are loaded; Apply makes a
// config saved later (web UI setup, tunnel edits, the console) reach the
// policies and charon: the first tunnel saved after setup mode starts
// charon. The kernel and charon sit behind Policies and Charon, so the
// logic here runs without root; kernel.go has the box's own.
package sites

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/failover"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/liveness"
	"github.com/tunneler/tunneler/appliance/xfrm"
)

// Policies are the box's XFRM policies (*xfrm.Manager on the box).
type Policies interface {
	// Apply makes the kernel hold exactly d's policies, xfrm interfaces
	// and routes among those we own.
	Apply(d xfrm.Desired) (xfrm.Result, error)
	// Owned lists the policies of ours the kernel holds now.
	Owned() ([]xfrm.Policy, error)
}

// Charon is charon under the supervisor (ipsec.Runner on the box).
type Charon interface {
	// Client is the VICI client that keeps charon loaded.
	Client() Client
	// Start starts charon; the supervisor restarts it when it dies.
	Start() error
}

// Client is what the manager, the failover and the status pages need of
// charon's VICI client (*ipsec.Client).
type Client interface {
	// Apply sets the desired tunnels; without a charon it only records
	// them and Run loads them on connect.
	Apply(tunnels []config.Tunnel) error
	Status() []ipsec.TunnelStatus
	// Changed gets a value whenever a tunnel's status may have changed.
	Changed() <-chan struct{}
	Run(ctx context.Context) error
	Initiate(name string) error
	Terminate(name string) error
	Reconnect(name string) error
}

// Options are the manager's collaborators. NewPolicies, NewCharon and
// InsideAddress may be nil (no kernel, no supervisor): what needs them
// is then skipped.
type Options struct {
	// NewPolicies opens the box's XFRM policies; it is called when the
	// first config with tunnels is applied.
	NewPolicies func() (Policies, error)
	// NewCharon adds charon to the supervisor, not started.
	NewCharon func() (Charon, error)
	// InsideAddress puts the bridge's inside address on lo (scope host).
	InsideAddress func(netip.Addr) error
	// Resolve turns a peer's DNS name into an address.
	Resolve xfrm.Resolver
	// Log gets the manager's lines; LocalLog (console and log ring only)
	// gets the alarm lines, which reach remote syslog in their own form.
	Log, LocalLog *slog.Logger
	// Problem records a boot problem (banner, web UI) and logs it.
	Problem func(msg string)
	// StartWait bounds how long Apply waits for Start (default 2 min).
	StartWait time.Duration
	// ESPSilence is how long packets may go out of a tunnel with IKE up
	// and no ESP coming in before its alarm fires (default 60 s).
	ESPSilence time.Duration
	// SampleEvery is how often the ESP counters are sampled (5 s: the
	// VICI client's refresh).
	SampleEvery time.Duration
}

// running is what a config with tunnels leaves running: the box's XFRM
// policies and charon with its VICI client.
type running struct {
	policies Policies
	charon   Charon            // nil while charon does not run
	reqids   map[string]uint32 // of cfg.AllTunnels(): charon's and the policies'
	// cfg is the config applied last (defaults applied); active maps each
	// site to the remote that carries it. Policies are always those of
	// cfg.Expand(active), under Manager.mu.
	cfg    config.Config
	active map[string]int
}

func (r *running) client() Client {
	if r == nil || r.charon == nil {
		return nil
	}
	return r.charon.Client()
}

// Manager runs the tunnels and sites of one boot.
type Manager struct {
	o Options

	// mu is the apply lock: a config apply and a site's activation both
	// hold it, so neither undoes the other.
	mu    sync.Mutex
	run   *running      // nil until a config with tunnels was applied
	cfg   config.Config // applied last (defaults applied), tunnels or not
	ready chan struct{} // closed when Start is done
	once  sync.Once

	// alarms live for the whole boot so their history survives config
	// changes.
	alarms *alarm.Manager
	sites  siteState
	// live follows each CHILD_SA's ESP counters (liveness.go).
	live *liveness.Tracker

	// charonSeen: the VICI client has been connected once. Before that
	// every remote reads "not connected", which is no news of a remote
	// (it would raise alarms and restarts at every boot).
	charonSeen atomic.Bool
}

// New returns the boot's manager; nothing runs until Start.
func New(o Options) *Manager {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.LocalLog == nil {
		o.LocalLog = o.Log
	}
	if o.Problem == nil {
		log := o.Log
		o.Problem = func(msg string) { log.Error(msg) }
	}
	if o.StartWait <= 0 {
		o.StartWait = 2 * time.Minute
	}
	if o.ESPSilence <= 0 {
		o.ESPSilence = liveness.DefaultSilence
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 5 * time.Second
	}
	m := &Manager{o: o, ready: make(chan struct{}), live: liveness.New()}
	m.alarms = newAlarms(o.LocalLog)
	return m
}

func (m *Manager) problem(format string, args ...any) {
	m.o.Problem(fmt.Sprintf(format, args...))
}

// Start runs once the IPsec kernel modules are loaded (crypto, ESP,
// xfrm_user take seconds under emulation); nothing can leak meanwhile:
// forwarding is dropped and the router, the only local sender toward the
// remote networks, starts after the policies are in. The policies go in
// before charon ever runs, so traffic for a remote network is dropped,
// never sent in clear, until an SA exists.
func (m *Manager) Start(cfg config.Config) {
	defer m.once.Do(func() { close(m.ready) })
	cfg = cfg.WithDefaults()
	var run *running
	// What Start made is published at its end, before Apply may run. The
	// slow steps (peers' DNS, netlink) run without m.mu, so Client and
	// PoliciesMissing do not wait for them; an activation waits for m.mu
	// and works on run itself.
	defer func() {
		m.mu.Lock()
		m.run, m.cfg = run, cfg
		m.mu.Unlock()
	}()
	if len(cfg.AllTunnels()) == 0 {
		m.attachAlarmSyslog(cfg) // a config saved later starts charon (Apply)
		return
	}
	m.addInsideAddress(cfg.Router.InsideAddress.Addr)
	run = m.installPolicies(cfg)
	m.startCharon(run, cfg)
	m.startSites(run, cfg)
}

// Apply makes the XFRM policies and charon follow c's tunnels. It waits
// for Start: before it, the crypto modules are not loaded. Its failures
// are logged and recorded as problems, as at boot.
func (m *Manager) Apply(c config.Config) {
	select {
	case <-m.ready:
	case <-time.After(m.o.StartWait):
		m.o.Log.Warn("ipsec: boot has not started IPsec; the saved tunnels apply at the next boot")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cfg := c.WithDefaults()
	m.cfg = cfg
	run := m.run
	all := cfg.AllTunnels()
	if run == nil {
		if len(all) == 0 {
			m.attachAlarmSyslog(cfg)
			return
		}
		m.addInsideAddress(cfg.Router.InsideAddress.Addr)
		run = m.installPolicies(cfg)
		m.startCharon(run, cfg)
		m.run = run
		m.startSites(run, cfg)
		return
	}
	// A change touches only what it changes: a new or changed site starts
	// on its preferred remote, every other site keeps running on its
	// active remote (run.active); charon reloads only the connections
	// whose settings changed, and the XFRM policies are diffed.
	g := m.Group()
	restart := run.charon == nil || g == nil && len(cfg.Sites) > 0
	var resumed []string
	switch {
	case restart:
		m.stopSites()
		run.active = map[string]int{}
	case g != nil:
		resumed = m.updateSites(run, cfg)
	}
	run.reqids = ipsec.ReqIDs(all)
	m.applyPolicies(run, cfg)
	if run.charon == nil {
		m.startCharon(run, cfg)
	} else if err := run.charon.Client().Apply(all); err != nil {
		m.o.Log.Warn("ipsec: apply tunnels", "err", err)
	}
	switch {
	case restart:
		m.startSites(run, cfg)
	case len(resumed) > 0:
		m.attachAlarmSyslog(cfg)
		m.observeTunnels(run.client()) // the new runners' first view
	default:
		m.attachAlarmSyslog(cfg)
	}
}

// Client is charon's VICI client, nil while charon does not run.
func (m *Manager) Client() Client {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.run.client()
}

// PoliciesMissing reports whether the applied config has policy-mode
// tunnels but the kernel holds no XFRM policy of ours (installing them
// failed). The router must not start then: what it sends toward a remote
// network would take the default route, in clear.
func (m *Manager) PoliciesMissing() bool {
	m.mu.Lock()
	cfg, run := m.cfg, m.run
	m.mu.Unlock()
	need := false
	for _, t := range cfg.AllTunnels() { // sites' remotes too
		if t.Mode != config.ModeRoute && len(t.RemoteNetworks) > 0 {
			need = true
		}
	}
	if !need {
		return false
	}
	if run == nil {
		return true
	}
	pols, err := run.policies.Owned()
	return err != nil || len(pols) == 0
}

// installPolicies opens the box's policies and installs cfg's; nil when
// they cannot be opened (then charon does not start either).
func (m *Manager) installPolicies(cfg config.Config) *running {
	if m.o.NewPolicies == nil {
		return nil
	}
	p, err := m.o.NewPolicies()
	if err != nil {
		m.problem("ipsec: netlink: %v", err)
		return nil
	}
	run := &running{policies: p, reqids: ipsec.ReqIDs(cfg.AllTunnels()), active: map[string]int{}}
	m.applyPolicies(run, cfg)
	return run
}

// applyPolicies installs cfg's policies, each site on its active remote.
func (m *Manager) applyPolicies(run *running, cfg config.Config) {
	run.cfg = cfg
	if err := m.install(run); err != nil {
		m.problem("ipsec policies: %v", err)
	}
}

// install makes the kernel's policies those of run.cfg.Expand(run.active).
func (m *Manager) install(run *running) error {
	desired, err := xfrm.FromConfig(run.cfg.Expand(run.active), run.reqids, m.o.Resolve)
	if err != nil {
		m.o.Log.Warn("ipsec policies", "err", err)
	}
	if _, err := run.policies.Apply(desired); err != nil {
		return err
	}
	m.o.Log.Info("ipsec policies installed", "tunnels", len(desired.Tunnels))
	return nil
}

// startCharon starts charon under the supervisor, and the VICI client
// that loads the tunnels into it and into every charon after a restart.
func (m *Manager) startCharon(run *running, cfg config.Config) {
	if run == nil || m.o.NewCharon == nil {
		return
	}
	ch, err := m.o.NewCharon()
	if err != nil {
		m.problem("ipsec: %v", err)
		return
	}
	run.charon = ch
	c := ch.Client()
	// Every remote of every site too: standbys keep their SAs up.
	if err := c.Apply(cfg.AllTunnels()); err != nil {
		m.problem("ipsec: %v", err)
	}
	if err := ch.Start(); err != nil {
		m.problem("ipsec: start charon: %v", err)
		return
	}
	go c.Run(context.Background())
	go m.reportTunnels(c)
	go m.watchESP(c)
}

// reportTunnels logs every change of a tunnel's colour or reason, so the
// console says when a tunnel comes up, goes down, and why.
func (m *Manager) reportTunnels(c Client) {
	last := map[string]string{}
	for range c.Changed() {
		for _, t := range c.Status() {
			now := fmt.Sprintf("%s %s", t.Colour, t.Reason)
			if last[t.Name] == now {
				continue
			}
			last[t.Name] = now
			m.o.Log.Info("tunnel", "name", t.Name, "status", t.Colour, "reason", t.Reason)
		}
		m.observeTunnels(c) // DPD, deletes, new SAs: to the sites' failover
	}
}

// addInsideAddress puts the bridge's inside address on lo (scope host): the
// remote site pings it and asks it for DNS, and routes to the remote
// networks use it as their source so replies match the tunnel's policies.
func (m *Manager) addInsideAddress(a netip.Addr) {
	if !a.IsValid() || m.o.InsideAddress == nil {
		return
	}
	if err := m.o.InsideAddress(a); err != nil {
		m.problem("inside address %s on lo: %v", a, err)
		return
	}
	m.o.Log.Info("inside address on lo", "addr", a.String())
}

// Group is the running failover group, nil without sites.
func (m *Manager) Group() *failover.Group {
	m.sites.mu.Lock()
	defer m.sites.mu.Unlock()
	return m.sites.group
}

// Alarms is the boot's alarm manager.
func (m *Manager) Alarms() *alarm.Manager { return m.alarms }
