package webui

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/backup"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
	"github.com/tunneler/tunneler/appliance/ipsec/explain"
)

// fakeBox is an in-memory Box: Save validates like the real store (after
// KeepSecrets), and a save "applies" by bringing every tunnel up at once,
// except tunnels whose peer is 192.0.2.99, which never answer.
type fakeBox struct {
	mu      sync.Mutex
	cfg     config.Config
	saved   bool
	saves   int
	code    string
	events  []ApplyEvent
	actions []Action
	lines   []LogLine
	now     time.Time
	// problems and firewall are handed out by Status as they are.
	problems []BootProblem
	firewall []FirewallCounter
	fwErr    string
	// probe is the latest probe; presets lists "tunnel=preset" applied.
	probe   *control.ProbeStatus
	presets []string
	// mismatch, when set, keeps the first tunnel down with it.
	mismatch *explain.Explanation
	// sites and alarms too (webui/sites.go).
	sites  []SiteStatus
	alarms []Alarm
	// ifaces are the NICs Status reports (the Network section).
	ifaces []InterfaceStatus
	// saveErr, when set, is what every Save fails with (a full /perm).
	saveErr error
	// silent names a tunnel whose ESP does not come in (ESPSilent).
	silent string
	// sources lists where each save came from, trials how long each ran
	// on trial (0: for good).
	sources []control.Source
	trials  []time.Duration
	trial   *control.TrialStatus
	// gens holds every saved generation (gens[i] is generation i+1) with
	// where it came from; nics are the fake's MACs for a backup restore,
	// and restoredFiles the files a restored backup carried.
	gens          []config.Config
	genSources    []string
	nics          []string
	restoredFiles map[string][]byte
	// hidden is Config's answer for generation hiddenGen.
	hidden    config.Config
	hiddenGen int
}

func newFakeBox() *fakeBox {
	return &fakeBox{code: "ABCD-2345", now: time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)}
}

func (f *fakeBox) Config() (config.Config, int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.saved {
		return config.Config{}, f.saves, false
	}
	// What the owner hands out: secrets hidden (as read from the
	// document), made once per generation, a copy for each caller.
	if f.hiddenGen != f.saves || f.hidden.Version == 0 {
		c, err := config.Decode([]byte(f.cfg.String()))
		if err != nil {
			panic(err)
		}
		f.hidden, f.hiddenGen = c, f.saves
	}
	return f.hidden.Clone(), f.saves, true
}

// generation is the newest saved generation, as a freshly loaded page
// would carry it.
func (f *fakeBox) generation() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.saves
}

// Trial: the fake runs no trials unless a test sets one.
func (f *fakeBox) Trial() *control.TrialStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trial
}

func (f *fakeBox) AdminHash() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg.Admin.PasswordHash.Reveal()
}

func (f *fakeBox) Save(ctx context.Context, ch control.Change) (config.FieldErrors, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.saveErr != nil {
		return nil, f.saveErr
	}
	if ch.Base != f.saves {
		return nil, &control.StaleError{Base: ch.Base, Newest: f.saves}
	}
	f.sources = append(f.sources, ch.Source)
	f.trials = append(f.trials, ch.Trial)
	c := ch.Config.KeepSecrets(f.cfg)
	c.Version = config.CurrentVersion
	if errs := c.Validate(); len(errs) > 0 {
		return errs, nil
	}
	f.cfg, f.saved = c, true
	f.saves++
	f.gens, f.genSources = append(f.gens, c), append(f.genSources, string(ch.Source))
	f.events = nil
	seq := f.saves * 100
	add := func(step, state, msg string, done bool) {
		seq++
		f.events = append(f.events, ApplyEvent{Seq: seq, Time: f.now, Step: step, State: state, Message: msg, Done: done})
	}
	add("config", "ok", "saved", false)
	add("firewall", "ok", "ruleset installed", false)
	add("network", "ok", "interfaces up", false)
	down := ""
	for _, t := range c.Tunnels {
		if t.PeerAddress == "192.0.2.99" {
			down = t.Name
		}
		add("tunnel "+t.Name, "running", "connecting to "+t.PeerAddress, false)
	}
	if down != "" {
		add("tunnel "+down, "failed", "the remote device did not answer on UDP 500 (check its address and that it allows IKE from this box)", true)
	} else {
		add("tunnels", "ok", "every tunnel is up", true)
	}
	f.logLocked(KindSystem, "config saved: "+c.String())
	return nil, nil
}

func (f *fakeBox) Progress(after int) []ApplyEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ApplyEvent
	for _, e := range f.events {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out
}

func (f *fakeBox) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := Status{Time: f.now, Router: RouterStatus{State: "not enrolled"},
		System:   SystemStatus{Hostname: "tunneler", Version: "test", Uptime: 3 * time.Hour, CPUPercent: 7, MemUsed: 300 << 20, MemTotal: 2 << 30},
		Problems: f.problems, Firewall: f.firewall, FirewallError: f.fwErr, Sites: f.sites, Alarms: f.alarms, Interfaces: f.ifaces}
	st.Certificates = control.CertificatesStatus(f.cfg, f.now)
	for i, t := range f.cfg.Tunnels {
		ts := TunnelStatus{Name: t.Name, PeerAddress: t.PeerAddress, Colour: Green, LastHeartbeat: f.now.Add(-10 * time.Second),
			BytesIn: 123456, BytesOut: 654321, WeakCrypto: t.WeakCrypto(),
			IKE: IKESA{State: "ESTABLISHED", Established: f.now.Add(-time.Hour), Version: 2, LocalAddr: "198.51.100.2", RemoteAddr: t.PeerAddress,
				Encryption: "AES_GCM_16-256", PRF: "PRF_HMAC_SHA2_384", DHGroup: "ECP_384", RekeyAt: f.now.Add(2 * time.Hour)}}
		for _, n := range t.RemoteNetworks {
			ts.RemoteNetworks = append(ts.RemoteNetworks, n.String())
		}
		if t.PeerAddress == "192.0.2.99" {
			ts.Colour, ts.IKE, ts.Reason = Gray, IKESA{State: "CONNECTING"}, "the remote device did not answer on UDP 500"
		} else {
			ts.Children = []ChildSA{{Name: t.Name, State: "INSTALLED", SPIIn: fmt.Sprintf("c%07x", i+1), SPIOut: "c1d2e3f4",
				LocalTS: []string{"100.64.0.0/10"}, RemoteTS: ts.RemoteNetworks, Encryption: "AES_GCM_16-256", DHGroup: "ECP_384",
				BytesIn: 123456, BytesOut: 654321, Installed: f.now.Add(-20 * time.Minute), RekeyAt: f.now.Add(25 * time.Minute)}}
		}
		ts.ESPSilent = ts.Name == f.silent
		if i == 0 && f.mismatch != nil {
			ts.Colour, ts.IKE, ts.Children, ts.Reason, ts.Mismatch = Gray, IKESA{}, nil, f.mismatch.Summary, f.mismatch
			ts.NAT, ts.VendorIDs = f.mismatch.NAT, f.mismatch.VendorIDs
		}
		st.Tunnels = append(st.Tunnels, ts)
	}
	return st
}

func (f *fakeBox) Logs(q LogQuery) []LogLine {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []LogLine
	for _, l := range f.lines {
		if len(q.Kinds) > 0 && !containsStr(q.Kinds, l.Kind) {
			continue
		}
		if !q.Since.IsZero() && !l.Time.After(q.Since) {
			continue
		}
		out = append(out, l)
	}
	return out
}

func (f *fakeBox) Do(ctx context.Context, a Action) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, a)
	f.logLocked(KindCharon, "action "+a.Kind+" "+a.Tunnel)
	if a.Kind == control.ActConfirmTrial || a.Kind == control.ActRevertTrial {
		if f.trial == nil {
			return control.ErrNoTrial
		}
		f.trial = nil
	}
	return nil
}

func (f *fakeBox) CheckSetupCode(code string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg.Admin.PasswordHash.Reveal() != "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(code), []byte(NormalizeSetupCode(f.code))) == 1
}

func (f *fakeBox) saveCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.saves
}

// logLocked appends a line a second after the previous one, so a live
// tail (which asks for lines strictly after the last it has) sees it.
func (f *fakeBox) logLocked(kind, text string) {
	f.lines = append(f.lines, LogLine{Time: f.now.Add(time.Duration(len(f.lines)) * time.Second), Kind: kind, Text: text})
}

// log adds a line (browser tail test).
func (f *fakeBox) log(kind, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logLocked(kind, text)
}

// History lists the fake's generations newest first, with config.Diff
// summaries as the store makes them.
func (f *fakeBox) History() ([]config.GenerationInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []config.GenerationInfo
	for i := len(f.gens) - 1; i >= 0; i-- {
		g := config.GenerationInfo{Seq: i + 1, Saved: f.now.Add(time.Duration(i) * time.Minute), Source: f.genSources[i]}
		if i > 0 {
			g.Previous, g.Changes = i, config.Diff(f.gens[i-1], f.gens[i])
		}
		out = append(out, g)
	}
	return out, nil
}

// Restore saves generation seq again, through Save (stale check, trial).
func (f *fakeBox) Restore(ctx context.Context, seq, base int, by control.Source, trial time.Duration) (int, error) {
	f.mu.Lock()
	if seq < 1 || seq > len(f.gens) {
		f.mu.Unlock()
		return 0, fmt.Errorf("no generation %d", seq)
	}
	c := f.gens[seq-1]
	f.mu.Unlock()
	errs, err := f.Save(ctx, control.Change{Config: c, Base: base, Source: control.FromRestore, Trial: trial})
	if err != nil {
		return 0, err
	}
	if len(errs) > 0 {
		return 0, errs
	}
	return f.generation(), nil
}

// Backup seals the fake's config with the real backup format.
func (f *fakeBox) Backup(w io.Writer, passphrase string) error {
	f.mu.Lock()
	c := f.cfg
	f.mu.Unlock()
	return backup.Export(w, backup.Contents{Config: c, Files: map[string][]byte{"ziti/identity/key.pem": []byte("router key")}, Firmware: "test"}, passphrase)
}

// OpenBackup reads a backup as the owner does, adapting it to f.nics.
func (f *fakeBox) OpenBackup(r io.Reader, passphrase string) (*control.RestorePlan, error) {
	got, err := backup.Import(r, passphrase)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	nics := f.nics
	f.mu.Unlock()
	c, notes := got.Config, []string(nil)
	if len(nics) > 0 {
		c, notes = backup.AdaptToHardware(got.Config, nics)
	}
	return &control.RestorePlan{Config: c, Files: got.Files, Notes: notes}, nil
}

// RestoreBackup saves the plan's config through Save and keeps its files.
func (f *fakeBox) RestoreBackup(ctx context.Context, p *control.RestorePlan, base int, by control.Source, trial time.Duration) (int, config.FieldErrors, error) {
	if p == nil {
		return 0, nil, errors.New("no backup")
	}
	errs, err := f.Save(ctx, control.Change{Config: p.Config, Base: base, Source: control.FromRestore, Trial: trial})
	if err != nil || len(errs) > 0 {
		return 0, errs, err
	}
	f.mu.Lock()
	f.restoredFiles = p.Files
	f.mu.Unlock()
	return f.generation(), nil, nil
}

func (f *fakeBox) StartProbe(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.probe != nil && f.probe.Running {
		return errors.New("a probe of " + name + " is already running")
	}
	f.probe = &control.ProbeStatus{Tunnel: name, Running: true, Total: 16}
	return nil
}

func (f *fakeBox) Probe(name string) (control.ProbeStatus, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.probe == nil || f.probe.Tunnel != name {
		return control.ProbeStatus{}, false
	}
	return *f.probe, true
}

func (f *fakeBox) ApplyPreset(ctx context.Context, name, preset string, base int, by control.Source) (config.FieldErrors, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if base != f.saves {
		return nil, &control.StaleError{Base: base, Newest: f.saves}
	}
	f.presets = append(f.presets, name+"="+preset)
	return nil, nil
}
