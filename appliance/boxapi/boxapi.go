// Package boxapi is the web UI's view of the running box: it implements
// webui.Box on top of the config store, the apply step init uses for the
// console menu, charon's VICI client, the supervisor's log rings, init's
// own log ring and the power requests. init fills Deps with its parts;
// everything here is testable with fakes.
package boxapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/provision"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/sysinfo"
	"github.com/tunneler/tunneler/webui"
)

// Store is the part of config.Store the web UI writes through.
type Store interface {
	Load() (config.Config, config.LoadInfo, error)
	Save(config.Config) (int, error)
}

// Tunnels is the part of the ipsec client the web UI reads and drives.
type Tunnels interface {
	Status() []ipsec.TunnelStatus
	Reconnect(name string) error
}

// Deps are the box's parts. Funcs may be nil where the box lacks the part.
type Deps struct {
	Store Store // nil when /perm is not mounted: nothing can be saved
	// Apply applies a saved config the way the console menu does
	// (network, firewall, XFRM policies, charon).
	Apply func(config.Config) error
	// Tunnels returns charon's client, or nil while charon is not running.
	Tunnels func() Tunnels
	// Units returns the supervised services: "charon" logs as charon,
	// the others (the ziti router) as router.
	Units func() []*supervise.Unit
	// SystemLog returns init's own recent log lines (slog text format).
	SystemLog func() []string
	// Router reports the router's state; nil means "not enrolled".
	Router func() webui.RouterStatus
	// EnrollRouter and UnenrollRouter drive the router's enrollment
	// (webui.RouterAdmin); nil when the box has no router.
	EnrollRouter   func(ctx context.Context, jwt []byte, progress func(string)) error
	UnenrollRouter func(ctx context.Context) error
	// SetupCode is the one-time code on the console, "" when not in setup
	// mode. SetupDone is called once a config with an admin password is
	// saved, so the console stops offering the code.
	SetupCode func() string
	SetupDone func()
	// Reboot and PowerOff ask init to stop cleanly; FactoryReset erases
	// the config store the way the console menu does, then reboots.
	Reboot       func(reason string)
	PowerOff     func(reason string)
	FactoryReset func() error
	// RestartCharon restarts the IKE daemon (its client reloads it).
	RestartCharon func(ctx context.Context) error
	// Sites returns the running failover of sites with several remotes
	// (nil without one); Alarms the boot's alarms (nil: none yet).
	Sites  func() Sites
	Alarms func() *alarm.Manager
	// Firewall reads the firewall's counters per rule
	// (firewall.RuleCounters); nil when the box has no firewall.
	Firewall func() ([]firewall.RuleCounter, error)
	// Problems returns what init found wrong at boot, one line each as
	// the banner says them ("area: text"); Provisioning is this boot's
	// import from the ESP (zero when no file was there).
	Problems     func() []string
	Provisioning provision.Result
	Version      string
	Proc         string // "/proc" by default
	// TunnelTimeout bounds how long an apply waits for the tunnels to come
	// up before it says why they are not (90s by default).
	TunnelTimeout time.Duration
	Now           func() time.Time
	Logf          func(format string, args ...any)
}

// Box implements webui.Box.
type Box struct {
	d Deps

	saveMu sync.Mutex // one save (and one apply start) at a time
	applyN int        // generation of the running apply; older ones stop watching

	evMu   sync.Mutex
	events []webui.ApplyEvent // the latest apply's only
	evGen  int                // which apply events belongs to
	seq    int                // grows across applies

	cpu sysinfo.CPUMeter
}

var _ webui.Box = (*Box)(nil)

// New returns the adapter.
func New(d Deps) *Box {
	if d.Proc == "" {
		d.Proc = "/proc"
	}
	if d.TunnelTimeout <= 0 {
		d.TunnelTimeout = 90 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logf == nil {
		d.Logf = func(string, ...any) {}
	}
	return &Box{d: d, cpu: sysinfo.CPUMeter{Proc: d.Proc}}
}

// stored returns the saved document with its secrets.
func (b *Box) stored() (config.Config, bool) {
	if b.d.Store == nil {
		return config.Config{}, false
	}
	c, _, err := b.d.Store.Load()
	if err != nil {
		return config.Config{}, false
	}
	return c, true
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

// Config returns the saved document with secrets hidden.
func (b *Box) Config() (config.Config, bool) {
	c, ok := b.stored()
	if !ok {
		return config.Config{}, false
	}
	return hideSecrets(c), true
}

// AdminHash is the stored admin password hash, "" in setup mode.
func (b *Box) AdminHash() string {
	c, _ := b.stored()
	return c.Admin.PasswordHash.Reveal()
}

// Save validates c with the stored secrets kept, saves it and starts
// applying it.
func (b *Box) Save(ctx context.Context, c config.Config) (config.FieldErrors, error) {
	return b.save(ctx, c, nil)
}

// save is Save; with a router token the apply enrolls the router too
// (SaveAndEnroll, router.go).
func (b *Box) save(ctx context.Context, c config.Config, jwt []byte) (config.FieldErrors, error) {
	b.saveMu.Lock()
	defer b.saveMu.Unlock()
	if b.d.Store == nil {
		return nil, errors.New("/perm is not mounted: settings cannot be saved (see the console)")
	}
	stored, _ := b.stored()
	c = c.KeepSecrets(stored)
	c.Version = config.CurrentVersion
	if errs := c.Validate(); len(errs) > 0 {
		return errs, nil
	}
	seq, err := b.d.Store.Save(c)
	if err != nil {
		return nil, fmt.Errorf("save config: %w", err)
	}
	b.d.Logf("web UI: config saved as generation %d (%d tunnels)", seq, len(c.Tunnels))
	if !c.Admin.PasswordHash.IsZero() && b.d.SetupDone != nil {
		b.d.SetupDone()
	}
	b.applyN++
	n := b.applyN
	b.evMu.Lock()
	b.events, b.evGen = nil, n
	b.evMu.Unlock()
	b.event(n, "config", "ok", fmt.Sprintf("saved (generation %d)", seq), false)
	go b.apply(n, c, jwt)
	return nil, nil
}

// apply runs the console's apply path, then follows the tunnels until all
// are up or the timeout says why one is not. A newer save supersedes it.
func (b *Box) apply(n int, c config.Config, jwt []byte) {
	current := func() bool {
		b.saveMu.Lock()
		defer b.saveMu.Unlock()
		return b.applyN == n
	}
	b.event(n, "network", "running", "applying interfaces, firewall and IPsec policies", false)
	if b.d.Apply != nil {
		if err := b.d.Apply(c); err != nil {
			b.event(n, "network", "failed", err.Error(), false)
		} else {
			b.event(n, "network", "ok", "interfaces, firewall and IPsec policies applied", false)
		}
	}
	enrolled := b.enrollAtApply(n, jwt) // nil without a token
	tunnels := c.WithDefaults().Tunnels
	if len(tunnels) == 0 {
		b.finish(n, enrolled, "tunnels", "ok", "applied; no tunnel is configured")
		return
	}
	for _, t := range tunnels {
		b.event(n, "tunnel "+t.Name, "running", "connecting to "+t.PeerAddress, false)
	}
	deadline := b.d.Now().Add(b.d.TunnelTimeout)
	said := map[string]string{}
	for {
		if !current() {
			return
		}
		var sts []ipsec.TunnelStatus
		if b.d.Tunnels != nil {
			if cl := b.d.Tunnels(); cl != nil {
				sts = cl.Status()
			}
		}
		byName := map[string]ipsec.TunnelStatus{}
		for _, s := range sts {
			byName[s.Name] = s
		}
		up, firstDown := 0, ""
		for _, t := range tunnels {
			s, ok := byName[t.Name]
			switch {
			case ok && s.Up():
				up++
				if said[t.Name] != "up" {
					said[t.Name] = "up"
					b.event(n, "tunnel "+t.Name, "ok", "up: IKE SA and CHILD SA established", false)
				}
			default:
				reason := "charon has not loaded the tunnel yet"
				if ok && s.Reason != "" {
					reason = s.Reason
				}
				if firstDown == "" {
					firstDown = t.Name + ": " + reason
				}
				if said[t.Name] != reason {
					said[t.Name] = reason
					b.event(n, "tunnel "+t.Name, "running", reason, false)
				}
			}
		}
		if up == len(tunnels) {
			msg := "every tunnel is up"
			if len(tunnels) == 1 {
				msg = "tunnel " + tunnels[0].Name + " is up"
			}
			b.finish(n, enrolled, "tunnels", "ok", msg)
			return
		}
		if b.d.Now().After(deadline) {
			b.finish(n, enrolled, "tunnels", "failed", "not up after "+b.d.TunnelTimeout.String()+": "+firstDown)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// maxEvents bounds the progress kept across applies.
const maxEvents = 200

// event records a step of apply n; a newer apply's page never sees it.
func (b *Box) event(n int, step, state, msg string, done bool) {
	b.evMu.Lock()
	defer b.evMu.Unlock()
	if n != b.evGen {
		return
	}
	b.seq++
	b.events = append(b.events, webui.ApplyEvent{Seq: b.seq, Time: b.d.Now(), Step: step, State: state, Message: msg, Done: done})
	if len(b.events) > maxEvents {
		b.events = b.events[len(b.events)-maxEvents:]
	}
}

// Progress returns the latest apply's events after Seq after.
func (b *Box) Progress(after int) []webui.ApplyEvent {
	b.evMu.Lock()
	defer b.evMu.Unlock()
	var out []webui.ApplyEvent
	for _, e := range b.events {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out
}

// CheckSetupCode compares code with the console's one-time code.
func (b *Box) CheckSetupCode(code string) bool {
	if b.d.SetupCode == nil || b.AdminHash() != "" {
		return false
	}
	want := b.d.SetupCode()
	if want == "" {
		return false
	}
	w := webui.NormalizeSetupCode(want)
	return subtle.ConstantTimeCompare([]byte(webui.NormalizeSetupCode(code)), []byte(w)) == 1
}

// Do runs an operator action; it returns once the action has started.
func (b *Box) Do(ctx context.Context, a webui.Action) error {
	switch a.Kind {
	case webui.ActReconnect:
		if b.d.Tunnels == nil || b.d.Tunnels() == nil {
			return errors.New("charon is not running")
		}
		b.d.Logf("web UI: reconnect tunnel %s", a.Tunnel)
		return b.d.Tunnels().Reconnect(a.Tunnel)
	case webui.ActRestartRemote:
		return b.restartRemote(a.Tunnel)
	case webui.ActRestartCharon:
		if b.d.RestartCharon == nil {
			return errors.New("charon is not running")
		}
		b.d.Logf("web UI: restart charon")
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := b.d.RestartCharon(ctx); err != nil {
				b.d.Logf("web UI: restart charon: %v", err)
			}
		}()
		return nil
	case webui.ActReboot:
		if b.d.Reboot == nil {
			return errors.New("reboot is not available")
		}
		b.d.Reboot("asked from the web UI")
		return nil
	case "poweroff", "power-off":
		if b.d.PowerOff == nil {
			return errors.New("power off is not available")
		}
		b.d.PowerOff("asked from the web UI")
		return nil
	case webui.ActFactoryReset:
		if b.d.FactoryReset == nil {
			return errors.New("factory reset is not available")
		}
		b.d.Logf("web UI: factory reset")
		return b.d.FactoryReset()
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// Logs merges charon's, the router's and init's lines, oldest first.
func (b *Box) Logs(q webui.LogQuery) []webui.LogLine {
	want := func(kind string) bool {
		if len(q.Kinds) == 0 {
			return true
		}
		for _, k := range q.Kinds {
			if k == kind {
				return true
			}
		}
		return false
	}
	var out []webui.LogLine
	if b.d.Units != nil {
		for _, u := range b.d.Units() {
			kind := webui.KindRouter
			if u.Name() == "charon" {
				kind = webui.KindCharon
			}
			if !want(kind) {
				continue
			}
			for _, l := range u.Lines(q.Since) {
				out = append(out, webui.LogLine{Time: l.Time, Kind: kind, Text: l.Text})
			}
		}
	}
	if want(webui.KindSystem) && b.d.SystemLog != nil {
		now := b.d.Now()
		for _, l := range b.d.SystemLog() {
			out = append(out, webui.LogLine{Time: slogTime(l, now), Kind: webui.KindSystem, Text: l})
		}
	}
	sel := out[:0]
	for _, l := range out {
		if !q.Since.IsZero() && !l.Time.After(q.Since) {
			continue
		}
		if !q.Until.IsZero() && l.Time.After(q.Until) {
			continue
		}
		sel = append(sel, l)
	}
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].Time.Before(sel[j].Time) })
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	if len(sel) > limit {
		sel = sel[len(sel)-limit:]
	}
	return sel
}

// slogTime reads init's "time=15:04:05" (local clock, no date) as the
// latest such moment not after now.
func slogTime(line string, now time.Time) time.Time {
	rest, ok := strings.CutPrefix(line, "time=")
	if !ok || len(rest) < 8 {
		return now
	}
	t, err := time.ParseInLocation("15:04:05", rest[:8], now.Location())
	if err != nil {
		return now
	}
	d := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), t.Second(), 0, now.Location())
	if d.After(now.Add(time.Minute)) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}
