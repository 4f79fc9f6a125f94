package webui

import (
	"context"
	"io"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// Appliance is everything the web UI needs from the rest of the box:
// the owner of the running box (appliance/control) implements it; tests
// use a fake.
//
// Secrets: Config returns the document with every Secret as the "(hidden)"
// placeholder (config.Secret.IsHidden), and Save must put the stored values
// back (config.Config.KeepSecrets) before validating, so a page can send a
// document back without knowing the keys. AdminHash is the one secret the
// web UI reads, to check a login.
type Appliance interface {
	// Config returns the saved document with secrets hidden and its
	// generation, or the zero Config (and false) when nothing was saved
	// yet. Every form carries the generation it showed, and its save is
	// refused if another was saved since (control.StaleError).
	Config() (c config.Config, generation int, ok bool)
	// AdminHash is the crypt-style admin password hash, "" in setup mode.
	AdminHash() string
	// Save validates c (after KeepSecrets with the stored document), saves
	// it and starts applying it. Field errors mean nothing was saved; err is
	// for a failure to write. Progress of the apply is read with Progress.
	Save(ctx context.Context, ch control.Change) (config.FieldErrors, error)
	// Progress returns the events of the latest apply with Seq > after,
	// oldest first. Seq grows across applies, so a page polling with the
	// last Seq it saw never misses or repeats an event.
	Progress(after int) []ApplyEvent
	// Status is a snapshot of tunnels, router and the box itself.
	Status() Status
	// Logs returns lines matching q, oldest first.
	Logs(q LogQuery) []LogLine
	// Do runs an operator action (reconnect a tunnel, restart charon,
	// reboot, factory reset). It returns once the action has started.
	Do(ctx context.Context, a Action) error
	// CheckSetupCode reports whether code is the one-time setup code shown
	// on the console (constant-time; false once setup is done). code comes
	// normalised (NormalizeSetupCode): compare it with the printed code
	// normalised the same way.
	CheckSetupCode(code string) bool
	// Trial is the change on trial, nil when none runs (every page's
	// banner shows it).
	Trial() *control.TrialStatus
	// StartProbe starts "find what the remote device accepts" for a
	// tunnel; Probe reports it live; ApplyPreset saves a preset on a
	// tunnel (its own proposal lists dropped), based on generation base.
	StartProbe(tunnel string) error
	Probe(tunnel string) (control.ProbeStatus, bool)
	ApplyPreset(ctx context.Context, tunnel, preset string, base int, by control.Source) (config.FieldErrors, error)
	// MakeBoxCert, ImportCert and RemoveCert edit the certificates
	// (control/certs.go): the owner holds the box's key, which the page's
	// config never carries.
	MakeBoxCert(ctx context.Context, m control.MakeCert, base int, by control.Source) (config.FieldErrors, error)
	ImportCert(ctx context.Context, kind, name string, pem []byte, base int, by control.Source) (config.FieldErrors, error)
	RemoveCert(ctx context.Context, kind, name string, base int, by control.Source) (config.FieldErrors, error)

	// History lists the saved generations, newest first (secrets appear
	// as "changed" in their summaries, never as values). Restore brings
	// generation seq back as a new generation, based on generation base,
	// on trial for trial (0: for good).
	History() ([]config.GenerationInfo, error)
	Restore(ctx context.Context, seq, base int, by control.Source, trial time.Duration) (int, error)
	// Backup writes an encrypted backup (config with secrets, router
	// identity, web certificate); OpenBackup reads one without changing
	// anything (backup's errors: wrong passphrase, cut short, ...), and
	// RestoreBackup restores what it read, like a change based on base.
	Backup(w io.Writer, passphrase string) error
	OpenBackup(r io.Reader, passphrase string) (*control.RestorePlan, error)
	RestoreBackup(ctx context.Context, p *control.RestorePlan, base int, by control.Source, trial time.Duration) (int, config.FieldErrors, error)
}

// The snapshot the pages render is the owner's (appliance/control): the
// console and /metrics read the same one. Aliases keep the handlers short.
type (
	ApplyEvent      = control.ApplyEvent
	Status          = control.Status
	FirewallCounter = control.FirewallCounter
	BootProblem     = control.BootProblem
	TunnelStatus    = control.TunnelStatus
	IKESA           = control.IKESA
	ChildSA         = control.ChildSA
	RouterStatus    = control.RouterStatus
	SystemStatus    = control.SystemStatus
	LogQuery        = control.LogQuery
	LogLine         = control.LogLine
	Action          = control.Action
	SiteStatus      = control.SiteStatus
	RemoteStatus    = control.RemoteStatus
	Alarm           = control.Alarm
	AlarmChange     = control.AlarmChange
	TrialStatus     = control.TrialStatus
	InterfaceStatus = control.InterfaceStatus
)

// Colours, log kinds and actions, as the owner names them.
const (
	Green  = control.Green
	Orange = control.Orange
	Gray   = control.Gray

	FirewallDrop   = control.FirewallDrop
	FirewallAccept = control.FirewallAccept

	KindCharon = control.KindCharon
	KindRouter = control.KindRouter
	KindSystem = control.KindSystem

	ActReconnect     = control.ActReconnect
	ActRestartCharon = control.ActRestartCharon
	ActReboot        = control.ActReboot
	ActFactoryReset  = control.ActFactoryReset
	ActRestartRemote = control.ActRestartRemote
)

// logKinds lists the kinds the Logs page filters on.
var logKinds = []string{KindCharon, KindRouter, KindSystem}
