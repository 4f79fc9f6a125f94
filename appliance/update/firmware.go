package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Files on the ESP's root that carry an update across reboots. They are on
// the ESP, not /perm, so a box whose /perm is broken still rolls back and
// says why.
const (
	trialFile = "tunneler-trial.json"
	lastFile  = "tunneler-update.json"
)

// DefaultWindow is how long a trial boot has to pass its health gate;
// an operator may choose between MinWindow and MaxWindow: a box whose
// tunnels take long to come back (a slow peer, DPD) needs more, and no
// window may leave a failing firmware running for longer than an hour.
const (
	DefaultWindow = 10 * time.Minute
	MinWindow     = time.Minute
	MaxWindow     = time.Hour
)

// Firmware is the box's firmware as the web UI, the API and the console
// see it: install a bundle, boot it as a trial, commit or roll back.
type Firmware struct {
	*Installer
	// Loader is nil under a direct kernel boot: nothing to switch.
	Loader Loader
	// Reboot asks init to reboot.
	Reboot func(reason string)
	// Up names what is up now ("tunnel site1", "router"); a trial must
	// bring the same up again.
	Up     func() []string
	Window time.Duration
	Now    func() time.Time
	// OnEvent hears every update event as it is recorded (installed,
	// trial, committed, rolled back), for alarms and remote syslog. It
	// must not call back into the Firmware.
	OnEvent func(Event)

	mu sync.Mutex
}

// Trial is what the old firmware leaves for the new one on the ESP.
type Trial struct {
	From        string    `json:"from"`
	FromVersion string    `json:"from_version"`
	To          string    `json:"to"`
	Version     string    `json:"version"`
	Started     time.Time `json:"started"`
	Window      string    `json:"window"`
	// Up is what was up before the reboot.
	Up []string `json:"up"`
	// Booted: the new firmware started (it then ended the one-shot).
	Booted bool `json:"booted,omitempty"`
	// Failed is why the new firmware gave up, when it could say.
	Failed string `json:"failed,omitempty"`
}

// Event is the last update's outcome.
type Event struct {
	Time    time.Time `json:"time"`
	Version string    `json:"version"`
	Slot    string    `json:"slot"`
	Outcome string    `json:"outcome"` // installed, trial, committed, rolled back
	Detail  string    `json:"detail,omitempty"`
}

func (e Event) String() string {
	s := fmt.Sprintf("update to %s %s", e.Version, e.Outcome)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// SlotInfo describes one slot.
type SlotInfo struct {
	Slot    string    `json:"slot"`
	Version string    `json:"version,omitempty"`
	Built   time.Time `json:"built,omitempty"`
	Empty   bool      `json:"empty"`
}

// Status is what the Firmware page and /api/firmware show.
type Status struct {
	Running    SlotInfo `json:"running"`
	Other      SlotInfo `json:"other"`
	BootLoader string   `json:"boot_loader"`
	// CanSwitch: a boot loader can start the other slot.
	CanSwitch bool `json:"can_switch"`
	// Trial is set while this boot is a trial that has not committed.
	Trial *Trial `json:"trial,omitempty"`
	Last  *Event `json:"last,omitempty"`
}

func (f *Firmware) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Firmware) window() time.Duration {
	if f.Window > 0 {
		return f.Window
	}
	return DefaultWindow
}

// Install verifies and writes a bundle into the other slot and tells the
// boot loader about it; the running firmware stays the default.
func (f *Firmware) Install(ctx context.Context, r io.Reader, opt Options) (Result, error) {
	res, err := f.Installer.Install(ctx, r, opt)
	if err != nil {
		return res, err
	}
	if f.Loader != nil {
		m, err := ReadSlotManifest(f.ESP, res.Slot)
		if err == nil {
			err = f.writable(func() error { return f.Loader.WriteEntry(res.Slot, m) })
		}
		if err != nil {
			return res, fmt.Errorf("boot loader entry for slot %s: %w", res.Slot, err)
		}
	}
	f.record(Event{Time: f.now(), Version: res.Version, Slot: res.Slot, Outcome: "installed"})
	return res, nil
}

// writable runs fn with the ESP writable.
func (f *Firmware) writable(fn func() error) error {
	if f.Writable != nil {
		restore, err := f.Writable()
		if err != nil {
			return fmt.Errorf("make the ESP writable: %w", err)
		}
		defer restore()
	}
	return fn()
}

// Status reads the slots and the last update.
func (f *Firmware) Status() Status {
	st := Status{Running: f.slotInfo(f.Running), Other: f.slotInfo(Other(f.Running)), BootLoader: "direct kernel boot (no slots to switch)"}
	if f.Loader != nil {
		st.BootLoader, st.CanSwitch = f.Loader.Name(), true
	}
	if t, err := f.readTrial(); err == nil && t.To == f.Running {
		st.Trial = &t
	}
	var e Event
	if readJSON(filepath.Join(f.ESP, lastFile), &e) == nil {
		st.Last = &e
	}
	return st
}

func (f *Firmware) slotInfo(slot string) SlotInfo {
	m, err := ReadSlotManifest(f.ESP, slot)
	if err != nil {
		info := SlotInfo{Slot: slot, Empty: true}
		if slot == f.Running {
			info.Version, info.Built, info.Empty = f.Version, f.Built, false
		}
		return info
	}
	return SlotInfo{Slot: slot, Version: m.Version, Built: m.Built}
}

// CheckWindow says whether window may bound a trial (0: the default).
func CheckWindow(window time.Duration) error {
	if window != 0 && (window < MinWindow || window > MaxWindow) {
		return fmt.Errorf("trial window %s: choose between %s and %s", window, MinWindow, MaxWindow)
	}
	return nil
}

// BootInto reboots into the other slot's firmware once, as a trial; it
// must hold version (the page's confirmation names it). The trial must
// pass its health gate within window (0: the box's default).
func (f *Firmware) BootInto(version string, window time.Duration) error {
	if err := CheckWindow(window); err != nil {
		return err
	}
	if window == 0 {
		window = f.window()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Loader == nil {
		return errors.New("this box was started by a direct kernel boot: there is no boot loader to start the other slot")
	}
	other := Other(f.Running)
	m, err := ReadSlotManifest(f.ESP, other)
	if err != nil {
		return fmt.Errorf("slot %s holds no complete firmware: install an update first", other)
	}
	if m.Version != version {
		return fmt.Errorf("slot %s holds %s, not %s", other, m.Version, version)
	}
	t := Trial{From: f.Running, FromVersion: f.Version, To: other, Version: m.Version, Started: f.now().UTC(), Window: window.String()}
	if f.Up != nil {
		t.Up = f.Up()
	}
	err = f.writable(func() error {
		if err := writeJSON(filepath.Join(f.ESP, trialFile), t); err != nil {
			return err
		}
		return f.Loader.Trial(other)
	})
	if err != nil {
		return fmt.Errorf("arm the trial boot of slot %s: %w", other, err)
	}
	f.record(Event{Time: f.now(), Version: m.Version, Slot: other, Outcome: "trial", Detail: "rebooting into it once; it must pass the health gate within " + t.Window})
	if f.Reboot != nil {
		f.Reboot("firmware update: trial boot of " + m.Version)
	}
	return nil
}

// AtBoot runs early in every boot, before the services start. On a trial
// boot it ends the boot loader's one-shot and returns the trial, for
// the health gate. On the old slot after a trial that did not commit it
// records the rollback and returns it as a notice for the banner.
func (f *Firmware) AtBoot() (trial *Trial, notice string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.readTrial()
	if err != nil {
		return nil, ""
	}
	if t.To == f.Running {
		if t.Booted {
			// The trial firmware booted again without committing (a
			// loader without one-shot that EndTrial could not undo).
			f.endTrial(t, "rolled back", "it booted twice without passing its health gate")
			return nil, ""
		}
		t.Booted = true
		err := f.writable(func() error {
			if f.Loader != nil {
				if err := f.Loader.EndTrial(t.To); err != nil {
					return err
				}
			}
			return writeJSON(filepath.Join(f.ESP, trialFile), t)
		})
		if err != nil {
			return &t, fmt.Sprintf("update trial of %s: could not end the boot loader's one-shot: %v", t.Version, err)
		}
		return &t, ""
	}
	why := t.Failed
	if why == "" {
		if t.Booted {
			why = "it stopped during its trial boot (hang, crash or power cut) before passing its health gate"
		} else {
			why = "its trial boot never reached init (the boot loader or kernel failed, or power was cut)"
		}
	}
	e := f.endTrial(t, "rolled back", why)
	return nil, e.String()
}

// Commit makes the trial's slot the default: it passed its gate.
func (f *Firmware) Commit(t *Trial) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Loader == nil {
		return errors.New("no boot loader")
	}
	if err := f.writable(func() error { return f.Loader.Commit(t.To) }); err != nil {
		return fmt.Errorf("commit slot %s: %w", t.To, err)
	}
	f.endTrial(*t, "committed", fmt.Sprintf("slot %s is now the default; %s stays in slot %s", t.To, t.FromVersion, t.From))
	return nil
}

// RollBack records why the trial failed and reboots into the old slot,
// which the boot loader starts again by default.
func (f *Firmware) RollBack(t *Trial, why string) {
	f.mu.Lock()
	t.Failed = why
	f.writable(func() error { return writeJSON(filepath.Join(f.ESP, trialFile), t) })
	f.mu.Unlock()
	if f.Reboot != nil {
		f.Reboot(fmt.Sprintf("update to %s rolled back: %s", t.Version, why))
	}
}

func (f *Firmware) endTrial(t Trial, outcome, detail string) Event {
	e := Event{Time: f.now().UTC(), Version: t.Version, Slot: t.To, Outcome: outcome, Detail: detail}
	f.writable(func() error {
		os.Remove(filepath.Join(f.ESP, trialFile))
		return writeJSON(filepath.Join(f.ESP, lastFile), e)
	})
	f.tell(e)
	return e
}

func (f *Firmware) record(e Event) {
	f.writable(func() error { return writeJSON(filepath.Join(f.ESP, lastFile), e) })
	f.tell(e)
}

func (f *Firmware) tell(e Event) {
	if f.OnEvent != nil {
		f.OnEvent(e)
	}
}

func (f *Firmware) readTrial() (Trial, error) {
	var t Trial
	err := readJSON(filepath.Join(f.ESP, trialFile), &t)
	return t, err
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSynced(path, data)
}

// Check is one condition of the health gate.
type Check struct {
	Name string
	OK   func() bool
}

// Gate waits until every check passes, polling every `every`, for at most
// window. It returns nil, or the names of the checks that still failed.
// report, if not nil, hears the failing checks each time they change.
func Gate(ctx context.Context, checks []Check, window, every time.Duration, report func(failing []string)) error {
	deadline := time.NewTimer(window)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last []string
	for {
		var failing []string
		for _, c := range checks {
			if !c.OK() {
				failing = append(failing, c.Name)
			}
		}
		if report != nil && !slices.Equal(failing, last) {
			report(failing)
		}
		last = failing
		if len(failing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%s not up after %s", strings.Join(failing, ", "), window)
		case <-tick.C:
		}
	}
}
