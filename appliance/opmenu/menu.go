// Package opmenu is the operator's console menu, in the style of pfSense
// and OPNsense: status, interface roles, the LAN address, the setup code,
// resetting the admin password, factory reset, ping, logs, reboot and
// power off. Changes go through the owner of the running box
// (appliance/control), as the web UI's do, so neither overwrites the
// other's. init supplies the box's surfaces in a Menu.
package opmenu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/control"
	"github.com/tunneler/tunneler/appliance/diag"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/netconf"
)

// Settings is the owner of the running box as the menu uses it
// (control.Owner): every change is based on the generation it edited.
type Settings interface {
	Config() (c config.Config, generation int, ok bool)
	Save(ctx context.Context, ch control.Change) (config.FieldErrors, error)
	Progress(after int) []control.ApplyEvent
	AdminHash() string
	// Status is the one snapshot the web UI and /metrics show too.
	Status() control.Status
	// Trial is the change on trial (nil: none); the console confirms or
	// reverts it like any browser.
	Trial() *control.TrialStatus
	ConfirmTrial(by control.Source) error
	RevertTrial(by control.Source) error
}

// Menu is the operator's console menu and what it acts on.
type Menu struct {
	// Settings saves and applies changes; nil leaves nothing to change.
	Settings Settings
	// ApplyWait bounds how long a change's progress is shown (30s).
	ApplyWait time.Duration
	// TestHooks shows the entries only the system tests use (the kernel
	// command line's tunneler.debug=testhooks).
	TestHooks bool
	// FactoryReset erases the config store and reboots, as the web UI's
	// does; nil without /perm.
	FactoryReset func() error
	// NetStatus reports the NICs and their roles.
	NetStatus func() (netconf.Status, error)
	// PrintStatus prints the banner (interfaces, storage, setup code).
	PrintStatus func(w io.Writer)
	// Firewall reads the firewall's counters per rule; nil leaves them
	// off the status screen.
	Firewall func() ([]firewall.RuleCounter, error)
	// SetupCode is the current one-time code, "" outside setup mode.
	SetupCode func() string
	// EnterSetupMode makes and shows a new setup code (after the admin
	// password is reset) and returns it.
	EnterSetupMode func() string
	// Logs returns init's recent log lines.
	Logs func() []string
	// Reboot and PowerOff ask PID 1 to stop cleanly.
	Reboot   func(reason string)
	PowerOff func(reason string)
	// Logf records what the operator did (never a secret).
	Logf func(format string, args ...any)
	// Ping runs a planned ping (appliance/diag's by default; tests
	// replace it).
	Ping func(ctx context.Context, p *diag.Ping, w io.Writer) error
	// KillCharon is a test hook offered behind the debug entry's password:
	// it SIGKILLs charon so a system test can show the supervisor brings
	// the tunnels back and no cleartext leaks meanwhile. nil hides it.
	KillCharon func() (pid int, err error)
	// Installer installs the box onto an internal disk; nil hides the
	// entry (a box not booted from a disk).
	Installer Installer
	// Firmware shows the slots and boots the other one as a trial; nil
	// hides the entry (updates unavailable).
	Firmware Firmware
	// WrongPasswordDelay slows down guessing at the debug entry (2s).
	WrongPasswordDelay time.Duration

	mu sync.Mutex // one dialog's change at a time across consoles
}

func (b *Menu) logf(format string, args ...any) {
	if b.Logf != nil {
		b.Logf(format, args...)
	}
}

// Items returns the menu; extra items (init's "format /perm") are placed
// before reboot and power off, which keep keys 9 and 0.
func (b *Menu) Items(extra ...console.Item) []console.Item {
	items := []console.Item{
		{Key: "1", Title: "Status", Run: b.status},
		{Key: "2", Title: "Assign interfaces (WAN/LAN by MAC)", Dialog: b.assign},
		{Key: "3", Title: "Set LAN address", Dialog: b.setLAN},
		{Key: "4", Title: "Show setup code", Run: b.showSetupCode},
		{Key: "5", Title: "Reset admin password (back to setup mode)", Confirm: "The admin password is removed; the web UI asks for a new setup code.", Run: b.resetAdmin},
		{Key: "6", Title: "Ping", Dialog: b.ping},
		{Key: "7", Title: "View logs", Run: b.viewLogs},
	}
	items = append(items, extra...)
	items = append(items,
		console.Item{Key: "9", Title: "Reboot", Confirm: "Reboot the box?", Run: func(w io.Writer) error {
			b.Reboot("console menu")
			return nil
		}},
		console.Item{Key: "0", Title: "Power off", Confirm: "Power the box off?", Run: func(w io.Writer) error {
			b.PowerOff("console menu")
			return nil
		}},
		console.Item{Key: "10", Title: "Factory reset (erases the config, reboots)",
			Confirm: "This erases every setting, tunnel and key in the config store and reboots.", Run: b.factoryReset},
		console.Item{Key: "20", Title: "Install to internal disk", Shown: func() bool { return b.Installer != nil }, Dialog: b.installToDisk},
		b.firmwareItem(),
		console.Item{Key: "11", Title: "Debug shell (test hook; asks for the admin password)", Shown: func() bool { return b.TestHooks }, Dialog: b.debugShell},
		console.Item{Key: "18", Title: "Confirm the change on trial (keep it)", Shown: b.onTrial, Run: b.confirmTrial},
		console.Item{Key: "19", Title: "Go back from the change on trial now", Shown: b.onTrial, Confirm: "The box goes back to the settings before the change.", Run: b.revertTrial},
	)
	return items
}

// current returns the newest saved config (secrets hidden) and its
// generation, or an empty one (setup mode, nothing saved yet).
func (b *Menu) current() (config.Config, int, error) {
	if b.Settings == nil {
		return config.Config{}, 0, errors.New("/perm is not mounted: settings cannot be saved")
	}
	c, gen, ok := b.Settings.Config()
	if !ok {
		return config.Config{Version: config.CurrentVersion}, gen, nil
	}
	return c, gen, nil
}

// change edits the newest config and saves it through the owner, based on
// the generation it edited: a change made elsewhere meanwhile is never
// overwritten. It then shows the apply's progress.
func (b *Menu) change(w io.Writer, what string, edit func(config.Config) (config.Config, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, gen, err := b.current()
	if err != nil {
		return err
	}
	c, err = edit(c)
	if err != nil {
		var fe config.FieldErrors
		if errors.As(err, &fe) {
			fmt.Fprintf(w, "Not saved:\n")
			for _, e := range fe {
				fmt.Fprintf(w, "  %s\n", e.Error())
			}
			return errors.New("nothing changed")
		}
		return err
	}
	last := 0
	if evs := b.Settings.Progress(0); len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	fe, err := b.Settings.Save(context.Background(), control.Change{Config: c, Base: gen, Source: control.FromConsole})
	if len(fe) > 0 {
		fmt.Fprintf(w, "Not saved:\n")
		for _, e := range fe {
			fmt.Fprintf(w, "  %s\n", e.Error())
		}
		return errors.New("nothing changed")
	}
	if err != nil {
		return fmt.Errorf("not saved: %w", err)
	}
	_, seq, _ := b.Settings.Config()
	b.logf("console menu: %s (config generation %d)", what, seq)
	fmt.Fprintf(w, "Saved as config generation %d.\n", seq)
	return b.showApply(w, last)
}

// showApply prints the apply's steps as they happen until the network
// part is done (tunnels take longer; the status screen shows them).
func (b *Menu) showApply(w io.Writer, after int) error {
	wait := b.ApplyWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		for _, e := range b.Settings.Progress(after) {
			after = e.Seq
			fmt.Fprintf(w, "  %s: %s\n", e.Step, e.Message)
			if e.Step == "network" && e.State != "running" || e.Done {
				if e.State == "failed" {
					return fmt.Errorf("saved, but applying it failed: %s", e.Message)
				}
				fmt.Fprintf(w, "Applied.\n")
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(w, "Still applying; the status screen shows how it goes.\n")
	return nil
}

// MaxLogLines bounds what "view logs" prints.
const MaxLogLines = 200

func (b *Menu) viewLogs(w io.Writer) error {
	lines := b.Logs()
	if len(lines) > MaxLogLines {
		lines = lines[len(lines)-MaxLogLines:]
	}
	fmt.Fprintf(w, "--- last %d log lines ---\n", len(lines))
	for _, l := range lines {
		fmt.Fprintf(w, "%s\n", l)
	}
	fmt.Fprintf(w, "--- end of log ---\n")
	return nil
}
