package control

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
)

// genStore keeps every generation, as config.Store does.
type genStore struct {
	mu   sync.Mutex
	gens []config.Config
}

func (s *genStore) SaveFrom(c config.Config, _ string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gens = append(s.gens, c)
	return len(s.gens), nil
}

func (s *genStore) LoadGeneration(seq int) (config.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < 1 || seq > len(s.gens) {
		return config.Config{}, fmt.Errorf("no generation %d", seq)
	}
	return s.gens[seq-1], nil
}

func (s *genStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.gens)
}

func hostConfig(host string) config.Config {
	c := testConfig()
	c.System.Hostname = host
	return c
}

// trialOwner starts from generation 1 ("before") and saves "during" on
// trial for d.
func trialOwner(t *testing.T, st *genStore, d time.Duration) *Owner {
	t.Helper()
	seq, _ := st.SaveFrom(hostConfig("before"), "")
	o := New(Deps{Store: st, Boot: hostConfig("before"), BootGen: seq, Proc: t.TempDir(),
		TrialFile: filepath.Join(t.TempDir(), "trial.json"), TunnelTimeout: 10 * time.Millisecond})
	if _, err := o.Save(context.Background(), Change{Config: hostConfig("during"), Base: seq, Source: FromWebUI, Trial: d}); err != nil {
		t.Fatal(err)
	}
	return o
}

func hostname(o *Owner) string {
	c, _, _ := o.Config()
	return c.System.Hostname
}

func TestTrial(t *testing.T) {
	const d = 80 * time.Millisecond
	tests := []struct {
		name     string
		during   func(*Owner) error
		want     string // hostname after the deadline
		wantGens int    // generations saved in all
	}{
		{"not confirmed: back by itself", func(*Owner) error { return nil }, "before", 3},
		{"confirmed from another session", func(o *Owner) error { return o.ConfirmTrial(FromAPI) }, "during", 2},
		{"reverted at once", func(o *Owner) error { return o.RevertTrial(FromWebUI) }, "before", 3},
		{"a change saved for good on top ends it", func(o *Owner) error {
			return saveErr(o.Save(context.Background(), Change{Config: hostConfig("on-top"), Base: o.Generation(), Source: FromConsole}))
		}, "on-top", 3},
		{"a trial on top of a trial goes back to where the first began", func(o *Owner) error {
			return saveErr(o.Save(context.Background(), Change{Config: hostConfig("second-trial"), Base: o.Generation(), Source: FromAPI, Trial: d}))
		}, "before", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &genStore{}
			o := trialOwner(t, st, d)
			if tr := o.Trial(); tr == nil || tr.Generation != 2 || tr.Previous != 1 || o.Status().Trial == nil {
				t.Fatalf("trial %+v", tr)
			}
			if err := tc.during(o); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * d)
			if got := hostname(o); got != tc.want {
				t.Errorf("hostname %q after the deadline, want %q", got, tc.want)
			}
			if n := st.count(); n != tc.wantGens {
				t.Errorf("%d generations, want %d", n, tc.wantGens)
			}
			if o.Trial() != nil {
				t.Errorf("a trial still runs: %+v", o.Trial())
			}
			if err := o.ConfirmTrial(FromAPI); err != ErrNoTrial {
				t.Errorf("confirming with no trial: %v", err)
			}
		})
	}
}

// A box that goes down during a trial comes back on the generation before.
func TestTrialSurvivesReboot(t *testing.T) {
	st := &genStore{}
	seq, _ := st.SaveFrom(hostConfig("before"), "")
	file := filepath.Join(t.TempDir(), "trial.json")
	o := New(Deps{Store: st, Boot: hostConfig("before"), BootGen: seq, TrialFile: file, Proc: t.TempDir()})
	if _, err := o.Save(context.Background(), Change{Config: hostConfig("during"), Base: seq, Trial: time.Hour}); err != nil {
		t.Fatal(err)
	}
	// The power goes: a new owner boots on generation 2.
	again := New(Deps{Store: st, Boot: hostConfig("during"), BootGen: 2, TrialFile: file, Proc: t.TempDir()})
	if got := hostname(again); got != "before" || again.Generation() != 3 || again.Trial() != nil {
		t.Errorf("after the reboot: hostname %q, generation %d, trial %+v", got, again.Generation(), again.Trial())
	}
	// Booted again on generation 3: nothing left to go back from.
	third := New(Deps{Store: st, Boot: hostConfig("before"), BootGen: 3, TrialFile: file, Proc: t.TempDir()})
	if third.Generation() != 3 || st.count() != 3 {
		t.Errorf("a second reboot went back again: generation %d, %d saved", third.Generation(), st.count())
	}
}

// saveErr turns Save's two answers into one error.
func saveErr(errs config.FieldErrors, err error) error {
	if len(errs) > 0 {
		return errs
	}
	return err
}
