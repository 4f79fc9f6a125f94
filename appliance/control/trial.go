package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tunneler/tunneler/appliance/atomicfile"
	"github.com/tunneler/tunneler/appliance/config"
)

// A change may be applied on trial, as Talos's try mode: it takes effect at
// once, and unless it is confirmed before its deadline the owner goes back
// to the generation before it by itself. A box reached over the network a
// change could cut is never lost for good: the trial is written to /perm,
// so a reboot (or power cut) during it comes back on the old generation.

// DefaultTrial is how long a trial runs unless the operator picks.
const DefaultTrial = 5 * time.Minute

// TrialStatus is the running trial, for every page's banner, the JSON API
// and the console.
type TrialStatus struct {
	Generation int       `json:"generation"` // on trial
	Previous   int       `json:"previous"`   // what the box goes back to
	Deadline   time.Time `json:"deadline"`
	Source     Source    `json:"source"`
}

// trial is the running trial and the document it goes back to.
type trial struct {
	TrialStatus
	prev  config.Config
	timer *time.Timer
	// undo puts back what the change replaced besides the config (a
	// restored backup's router identity); nil when nothing.
	undo []func()
}

// ErrNoTrial answers a confirmation when no trial runs.
var ErrNoTrial = errors.New("no change is on trial (it was confirmed, or it was reverted)")

// GenerationLoader loads an older generation (config.Store): a trial that
// was running when the box went down goes back to it at boot.
type GenerationLoader interface {
	LoadGeneration(seq int) (config.Config, error)
}

// trialMarker is the trial on /perm.
type trialMarker struct {
	Generation int       `json:"generation"`
	Previous   int       `json:"previous"`
	Deadline   time.Time `json:"deadline"`
}

// Trial returns the running trial, nil when none runs.
func (o *Owner) Trial() *TrialStatus {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.trial == nil {
		return nil
	}
	t := o.trial.TrialStatus
	return &t
}

// startTrial puts generation gen on trial for d, going back to prev
// (generation prevGen). Called under o.mu by save.
func (o *Owner) startTrial(gen int, d time.Duration, src Source, prev config.Config, prevGen int, undo func()) {
	var undos []func()
	if o.trial != nil {
		// A trial on top of a trial goes back to where the first began.
		o.trial.timer.Stop()
		prev, prevGen, undos = o.trial.prev, o.trial.Previous, o.trial.undo
	}
	if undo != nil {
		undos = append(undos, undo)
	}
	t := &trial{TrialStatus: TrialStatus{Generation: gen, Previous: prevGen, Deadline: o.d.Now().Add(d), Source: src}, prev: prev, undo: undos}
	t.timer = time.AfterFunc(d, func() { o.expire(gen) })
	o.trial = t
	o.writeTrialMarker()
	o.d.Logf("TRIAL: generation %d is on trial for %s: the box goes back to generation %d at %s unless it is confirmed (web UI banner, POST /api/trial/confirm, or the console menu)",
		gen, d, prevGen, t.Deadline.Format("15:04:05"))
}

// endTrial forgets the trial (confirmed, reverted, or saved over). Under o.mu.
func (o *Owner) endTrial() {
	if o.trial == nil {
		return
	}
	o.trial.timer.Stop()
	o.trial = nil
	if o.d.TrialFile != "" {
		if err := os.Remove(o.d.TrialFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			o.d.Logf("trial: remove %s: %v", o.d.TrialFile, err)
		}
	}
}

// ConfirmTrial keeps the change on trial for good.
func (o *Owner) ConfirmTrial(by Source) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.trial == nil {
		return ErrNoTrial
	}
	gen := o.trial.Generation
	o.endTrial()
	o.d.Logf("TRIAL: generation %d confirmed from the %s; it stays", gen, by)
	return nil
}

// RevertTrial goes back now instead of at the deadline.
func (o *Owner) RevertTrial(by Source) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.trial == nil {
		return ErrNoTrial
	}
	return o.revert(fmt.Sprintf("reverted from the %s", by))
}

// expire goes back if generation gen's trial is still running.
func (o *Owner) expire(gen int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.trial == nil || o.trial.Generation != gen {
		return // confirmed, reverted or replaced meanwhile
	}
	if err := o.revert("not confirmed in time"); err != nil {
		o.d.Logf("TRIAL: going back from generation %d FAILED: %v", gen, err)
	}
}

// revert saves the document from before the trial as a new generation and
// applies it. Under o.mu.
func (o *Owner) revert(why string) error {
	t := o.trial
	o.endTrial()
	// Files first, newest undo first, so the config saved next never
	// names an identity that is not there.
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	seq, err := o.storeSave(t.prev, string(FromTrialRevert), t.Previous)
	if err != nil {
		return fmt.Errorf("go back to generation %d: save: %w", t.Previous, err)
	}
	o.cur, o.gen, o.has = t.prev, seq, true
	o.d.Logf("TRIAL: generation %d %s: back to the settings of generation %d (saved as generation %d, from the %s)", t.Generation, why, t.Previous, seq, FromTrialRevert)
	o.startApply(seq, t.prev, nil)
	return nil
}

// writeTrialMarker records the running trial on /perm. Under o.mu.
func (o *Owner) writeTrialMarker() {
	if o.d.TrialFile == "" || o.trial == nil {
		return
	}
	b, _ := json.Marshal(trialMarker{Generation: o.trial.Generation, Previous: o.trial.Previous, Deadline: o.trial.Deadline})
	if err := atomicfile.Write(o.d.TrialFile, b, 0o600); err != nil {
		// The trial still reverts while the box runs; only a reboot
		// during it would keep the change.
		o.d.Logf("TRIAL: could not record the trial on /perm (%v): a reboot before the deadline would keep the change", err)
	}
}

// resumeTrial is New's: a trial recorded on /perm whose generation is the
// one the box booted on was never confirmed, so the box goes back now.
func (o *Owner) resumeTrial() {
	if o.d.TrialFile == "" {
		return
	}
	b, err := os.ReadFile(o.d.TrialFile)
	if err != nil {
		return
	}
	var m trialMarker
	if err := json.Unmarshal(b, &m); err != nil || m.Generation != o.gen {
		// Unreadable, or the box did not boot on the trial generation:
		// nothing to go back from.
		os.Remove(o.d.TrialFile)
		return
	}
	loader, ok := o.d.Store.(GenerationLoader)
	if !ok {
		o.d.Logf("TRIAL: generation %d was on trial at shutdown, but generation %d cannot be loaded to go back to", m.Generation, m.Previous)
		os.Remove(o.d.TrialFile)
		return
	}
	prev, err := loader.LoadGeneration(m.Previous)
	if err != nil {
		o.d.Logf("TRIAL: generation %d was on trial at shutdown; going back to generation %d FAILED: %v", m.Generation, m.Previous, err)
		os.Remove(o.d.TrialFile)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.trial = &trial{TrialStatus: TrialStatus{Generation: m.Generation, Previous: m.Previous, Deadline: m.Deadline}, prev: prev, timer: time.NewTimer(time.Hour)}
	if err := o.revert("was on trial when the box went down and was never confirmed"); err != nil {
		o.d.Logf("TRIAL: %v", err)
	}
}
