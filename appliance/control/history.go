package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
)

// The config history (issue 14): every save is a generation on /perm
// that records when and from where it came and what it changed. Any
// generation can be brought back; bringing one back is itself a save
// through the owner, so the stale check, the trial and the apply all
// hold for it as for any change.

// HistoryStore is the part of config.Store the history reads.
type HistoryStore interface {
	History() ([]config.GenerationInfo, error)
	LoadGeneration(seq int) (config.Config, error)
}

// optionsSaver is config.Store's fuller save: it records the generation a
// restore or revert brought back.
type optionsSaver interface {
	SaveWith(c config.Config, o config.SaveOptions) (int, error)
}

// ErrNoHistory answers History and Restore on a box whose store keeps no
// history (no /perm).
var ErrNoHistory = errors.New("this box keeps no config history (/perm is not mounted)")

// storeSave stores c as a new generation, recording restoredFrom where
// the store can. Under o.mu.
func (o *Owner) storeSave(c config.Config, source string, restoredFrom int) (int, error) {
	if s, ok := o.d.Store.(optionsSaver); ok && restoredFrom > 0 {
		return s.SaveWith(c, config.SaveOptions{Source: source, RestoredFrom: restoredFrom})
	}
	return o.d.Store.SaveFrom(c, source)
}

// History lists the saved generations, newest first. Their changes name
// secrets as "changed", never their values.
func (o *Owner) History() ([]config.GenerationInfo, error) {
	h, ok := o.d.Store.(HistoryStore)
	if !ok {
		return nil, ErrNoHistory
	}
	return h.History()
}

// Restore brings generation seq back as a new generation (source
// "restore"), with the secrets it had, applied like any change: base is
// the generation the operator saw when they asked (a restore based on an
// older one is refused with *StaleError), and trial > 0 puts it on trial.
// by says who asked, for the log.
func (o *Owner) Restore(ctx context.Context, seq, base int, by Source, trial time.Duration) (int, error) {
	h, ok := o.d.Store.(HistoryStore)
	if !ok {
		return 0, ErrNoHistory
	}
	if cur := o.Generation(); base != cur {
		return 0, &StaleError{Base: base, Newest: cur}
	}
	c, err := h.LoadGeneration(seq)
	if err != nil {
		return 0, fmt.Errorf("restore generation %d: %w", seq, err)
	}
	n, _, err := o.saveWith(Change{Config: c, Base: base, Source: FromRestore, Trial: trial}, saveExtra{restoredFrom: seq})
	if err != nil {
		return 0, fmt.Errorf("restore generation %d: %w", seq, err)
	}
	if by == "" {
		by = "unnamed source"
	}
	o.d.Logf("config generation %d restored as generation %d from the %s", seq, n, by)
	return n, nil
}
