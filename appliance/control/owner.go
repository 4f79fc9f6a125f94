// Package control owns the running box: its desired and applied config,
// the one Save every surface goes through, and the one status snapshot
// the web UI, /metrics, the console menu and the banner all read.
//
// The data flow is DESIGN.md's: a form, an API call, the console menu, a
// provisioning file or a restored backup becomes a config.Config; Save
// keeps the stored secrets, validates once, refuses a change based on an
// older generation than the newest, stores it, and hands it to the
// drivers (network and firewall, XFRM and charon, syslog) through Apply.
// Everything runs under one lock, so the console and two browsers never
// overwrite one another silently.
//
// init fills Deps with the box's parts; everything here is tested with
// fakes.
package control

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/liveness"
	"github.com/tunneler/tunneler/appliance/netconf"
	"github.com/tunneler/tunneler/appliance/provision"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/sysinfo"
)

// Store is the part of config.Store the owner writes through: each
// generation records where it came from, for the history.
type Store interface {
	SaveFrom(c config.Config, source string) (int, error)
}

// Tunnels is the part of the ipsec client the owner reads and drives.
type Tunnels interface {
	Status() []ipsec.TunnelStatus
	Reconnect(name string) error
}

// Deps are the box's parts. Funcs may be nil where the box lacks the part.
type Deps struct {
	// Store is nil when /perm is not mounted: nothing can be saved.
	Store Store
	// TrialFile records a running trial on /perm, so a reboot during it
	// goes back too; "" keeps trials in memory only.
	TrialFile string
	// Boot is the config loaded at boot and its generation (zero in
	// setup mode): the owner's starting point.
	Boot    config.Config
	BootGen int
	// Apply hands a saved config to the drivers: network, firewall,
	// XFRM policies and charon, remote syslog.
	Apply func(ctx context.Context, c config.Config) error
	// Tunnels returns charon's client, or nil while charon is not running.
	Tunnels func() Tunnels
	// Units returns the supervised services: "charon" logs as charon,
	// the others (the ziti router) as router.
	Units func() []*supervise.Unit
	// SystemLog returns init's own recent log lines (slog text format).
	SystemLog func() []string
	// Router reports the router's state; nil means "not enrolled".
	Router func() RouterStatus
	// EnrollRouter and UnenrollRouter drive the router's enrollment; nil
	// when the box has no router.
	EnrollRouter   func(ctx context.Context, jwt []byte, progress func(string)) error
	UnenrollRouter func(ctx context.Context) error
	// SetupCode is the one-time code on the console, "" when not in setup
	// mode. SetupDone is called once a config with an admin password is
	// saved, so the console stops offering the code.
	SetupCode func() string
	SetupDone func()
	// Reboot and PowerOff ask init to stop cleanly; FactoryReset erases
	// the config store, then reboots.
	Reboot       func(reason string)
	PowerOff     func(reason string)
	FactoryReset func() error
	// RestartCharon restarts the IKE daemon (its client reloads it).
	RestartCharon func(ctx context.Context) error
	// Sites returns the running failover of sites with several remotes
	// (nil without one); Alarms the boot's alarms (nil: none yet).
	Sites  func() Sites
	Alarms func() *alarm.Manager
	// Liveness follows the tunnels' ESP counters (when inbound ESP last
	// arrived); nil: liveness is unknown, so never shown as live.
	Liveness func() *liveness.Tracker
	// ESPSilence is the alarm's time for a silent tunnel (the sites'
	// Options.ESPSilence), to flag it in the snapshot.
	ESPSilence time.Duration
	// Firewall reads the firewall's counters per rule; nil when the box
	// has no firewall.
	Firewall func() ([]firewall.RuleCounter, error)
	// Network reads netconf's status: the NICs, their roles and
	// addresses; nil leaves them out of the snapshot.
	Network func() (netconf.Status, error)
	// Problems returns what init found wrong at boot, one line each as
	// the banner says them ("area: text"); Provisioning is this boot's
	// import from the ESP (zero when no file was there).
	Problems     func() []string
	Provisioning provision.Result
	Version      string
	// PermDir is /perm ("" without it); BackupDirs the directories under
	// it an encrypted backup carries for config c (the router's identity,
	// the web UI's certificate). NICs are this box's MAC addresses in PCI
	// order, for restoring a backup made on other hardware.
	PermDir    string
	BackupDirs func(c config.Config) []PermDir
	NICs       func() []string
	// StopRouter and StartRouter bracket a restore that replaces the
	// router's identity; StartRouter runs the router with c's settings if
	// it is enrolled. nil when the box has no router.
	StopRouter  func(ctx context.Context) error
	StartRouter func(ctx context.Context, c config.Config) error
	Proc        string // "/proc" by default
	// TunnelTimeout bounds how long an apply waits for the tunnels to come
	// up before it says why they are not (90s by default).
	TunnelTimeout time.Duration
	Now           func() time.Time
	Logf          func(format string, args ...any)
	// Probe tries IKE proposal sets against a tunnel's remote device
	// (ipsec.Probe on the box; a fake in tests). nil: the box cannot.
	Probe func(ctx context.Context, t config.Tunnel, o ipsec.ProbeOptions) ([]ipsec.ProbeResult, error)
}

// Owner is the one owner of the running box's state.
type Owner struct {
	d Deps

	// mu is the one lock of Save: the stored document, its generation and
	// the start of its apply change together.
	mu     sync.Mutex
	cur    config.Config // the newest saved document, secrets included
	gen    int           // its generation; 0 before the first save
	has    bool          // a document was loaded or saved
	applyN int           // the newest apply; older ones stop watching
	trial  *trial        // the change on trial, nil when none
	hidden struct {      // Config's answer for generation gen
		c   config.Config
		gen int
		ok  bool
	}

	// applyMu runs the drivers for one config at a time, in order.
	applyMu sync.Mutex

	appliedMu  sync.Mutex    // readers never wait for a running apply
	applied    config.Config // defaults applied
	appliedGen int

	probeMu sync.Mutex
	probes  map[string]*ProbeStatus // by tunnel; the latest probe of each

	evMu   sync.Mutex
	events []ApplyEvent // the latest apply's only
	evGen  int          // which apply events belongs to
	seq    int          // grows across applies

	cpu sysinfo.CPUMeter
}

// New returns the owner, starting from the config loaded at boot.
func New(d Deps) *Owner {
	if d.Proc == "" {
		d.Proc = "/proc"
	}
	if d.TunnelTimeout <= 0 {
		d.TunnelTimeout = 90 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.ESPSilence <= 0 {
		d.ESPSilence = liveness.DefaultSilence
	}
	if d.Logf == nil {
		d.Logf = func(string, ...any) {}
	}
	o := &Owner{d: d, cpu: sysinfo.CPUMeter{Proc: d.Proc}}
	o.cur, o.gen, o.has = d.Boot, d.BootGen, d.BootGen > 0
	o.applied, o.appliedGen = d.Boot.WithDefaults(), d.BootGen
	if d.Store != nil {
		o.resumeTrial()
	}
	return o
}

// stored returns the newest saved document with its secrets.
func (o *Owner) stored() (config.Config, int, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cur, o.gen, o.has
}

// Applied is the config the drivers run now, defaults applied, and its
// generation. Every reader that acts on the box (the menu's screens,
// the router, the banner) takes it from here.
func (o *Owner) Applied() (config.Config, int) {
	o.appliedMu.Lock()
	defer o.appliedMu.Unlock()
	return o.applied, o.appliedGen
}

// hideSecrets turns every secret into the "(hidden)" placeholder: the
// document's JSON form never carries them, and decoding it back yields
// placeholders KeepSecrets understands.
func hideSecrets(c config.Config) config.Config {
	h, err := config.Decode([]byte(c.String()))
	if err != nil {
		return config.Config{}
	}
	return h
}

// Config returns the newest saved document with secrets hidden and its
// generation: the generation a page or a menu edit is based on.
//
// Every page asks for it, so the hidden document is made once per
// generation (a JSON round trip takes tens of milliseconds at a thousand
// tunnels) and each caller gets its own copy to change.
func (o *Owner) Config() (config.Config, int, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.has {
		return config.Config{}, o.gen, false
	}
	if !o.hidden.ok || o.hidden.gen != o.gen {
		o.hidden.c, o.hidden.gen, o.hidden.ok = hideSecrets(o.cur), o.gen, true
	}
	return o.hidden.c.Clone(), o.gen, true
}

// Generation is the newest saved generation (0 before the first save).
func (o *Owner) Generation() int {
	_, gen, _ := o.stored()
	return gen
}

// AdminHash is the stored admin password hash, "" in setup mode.
func (o *Owner) AdminHash() string {
	c, _, _ := o.stored()
	return c.Admin.PasswordHash.Reveal()
}

// errNoStore is Save's answer without /perm.
var errNoStore = errors.New("/perm is not mounted: settings cannot be saved (see the console)")
