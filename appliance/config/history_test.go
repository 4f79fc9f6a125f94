package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fixedClock returns a clock that starts at t0 and moves a minute per call.
func fixedClock(t0 time.Time) func() time.Time {
	n := 0
	return func() time.Time {
		n++
		return t0.Add(time.Duration(n-1) * time.Minute)
	}
}

func TestStoreHistory(t *testing.T) {
	s := newStore(t)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	s.now = fixedClock(t0)

	first := validConfig()
	if _, err := s.SaveFrom(first, SourceProvisioning); err != nil {
		t.Fatal(err)
	}
	second := validConfig()
	second.Tunnels[0].PeerAddress = "203.0.113.9"
	second.Tunnels[0].PSK = NewSecret(strongPSK3)
	if _, err := s.SaveWith(second, SaveOptions{Source: SourceWebUI, BasedOn: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveFrom(second, SourceAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RollbackWith(1, SaveOptions{Source: SourceTrialRevert}); err != nil {
		t.Fatal(err)
	}

	got, err := s.History()
	if err != nil {
		t.Fatal(err)
	}
	back := []Change{
		{Field: "tunnels[site-a].peer_address", Old: "203.0.113.9", New: "203.0.113.5"},
		{Field: "tunnels[site-a].psk", New: ChangeChanged},
	}
	want := []GenerationInfo{
		{Seq: 4, Saved: t0.Add(3 * time.Minute), Source: SourceTrialRevert, RestoredFrom: 1, Previous: 3, Changes: back},
		{Seq: 3, Saved: t0.Add(2 * time.Minute), Source: SourceAPI, Previous: 2},
		{Seq: 2, Saved: t0.Add(1 * time.Minute), Source: SourceWebUI, Previous: 1, Changes: []Change{
			{Field: "tunnels[site-a].peer_address", Old: "203.0.113.5", New: "203.0.113.9"},
			{Field: "tunnels[site-a].psk", New: ChangeChanged},
		}},
		{Seq: 1, Saved: t0, Source: SourceProvisioning},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	for _, g := range got {
		for _, line := range g.Summary(10) {
			for _, secret := range []string{strongPSK1, strongPSK2, strongPSK3, argonHash} {
				if strings.Contains(line, secret) {
					t.Errorf("history line %q shows a secret", line)
				}
			}
		}
	}
	meta, err := os.ReadFile(filepath.Join(s.Dir, metaName(2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{strongPSK1, strongPSK2, strongPSK3, argonHash} {
		if strings.Contains(string(meta), secret) {
			t.Errorf("meta file holds a secret:\n%s", meta)
		}
	}
}

func TestStoreSaveBasedOnStale(t *testing.T) {
	s := newStore(t)
	mustSave(t, s, withHostname("a"))
	mustSave(t, s, withHostname("b"))
	_, err := s.SaveWith(withHostname("c"), SaveOptions{Source: SourceWebUI, BasedOn: 1})
	if !errors.Is(err, ErrStale) {
		t.Fatalf("save based on generation 1 while 2 is newest = %v, want ErrStale", err)
	}
	if c, info, _ := s.Load(); c.System.Hostname != "b" || info.Seq != 2 {
		t.Errorf("a stale save changed the store: %q from %d", c.System.Hostname, info.Seq)
	}
	if _, err := s.SaveWith(withHostname("c"), SaveOptions{BasedOn: 1}); !errors.Is(err, ErrStale) {
		t.Errorf("second stale save = %v", err)
	}
	if _, err := s.SaveWith(withHostname("c"), SaveOptions{BasedOn: 2}); err != nil {
		t.Errorf("save based on the newest = %v", err)
	}
}

// TestStoreHistoryWithoutMeta reads a store written by firmware that kept
// no meta files (and one whose meta file broke): it loads, and the history
// works the changes out from the documents.
func TestStoreHistoryWithoutMeta(t *testing.T) {
	s := newStore(t)
	mustSave(t, s, withHostname("one"))
	mustSave(t, s, withHostname("two"))
	mustSave(t, s, withHostname("three"))
	os.Remove(filepath.Join(s.Dir, metaName(1)))
	os.Remove(filepath.Join(s.Dir, metaName(2)))
	write(t, filepath.Join(s.Dir, metaName(3)), `{"sav`)
	mtime := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(s.Dir, docName(2)), mtime, mtime)

	c, info, err := s.Load()
	if err != nil || c.System.Hostname != "three" || info.FellBack() {
		t.Fatalf("Load = %q, %v, %v; want generation 3 as it is", c.System.Hostname, info, err)
	}
	got, err := s.History()
	if err != nil {
		t.Fatal(err)
	}
	want := []GenerationInfo{
		{Seq: 3, Previous: 2, Changes: []Change{{Field: "system.hostname", Old: "two", New: "three"}}},
		{Seq: 2, Saved: mtime, Previous: 1, Changes: []Change{{Field: "system.hostname", Old: "one", New: "two"}}},
		{Seq: 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(GenerationInfo{}, "Saved")); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	if !got[1].Saved.Equal(mtime) {
		t.Errorf("generation 2 without meta: Saved = %v, want the document's mtime %v", got[1].Saved, mtime)
	}
	// The next save records meta again, against the newest readable one.
	n := mustSave(t, s, withHostname("four"))
	if h, _ := s.History(); h[0].Seq != n || h[0].Previous != 3 || len(h[0].Changes) != 1 {
		t.Errorf("after a new save, History()[0] = %+v", h[0])
	}
}

func TestStoreHistoryShowsUnreadable(t *testing.T) {
	s := newStore(t)
	mustSave(t, s, withHostname("one"))
	mustSave(t, s, withHostname("two"))
	mustSave(t, s, withHostname("three"))
	os.Remove(filepath.Join(s.Dir, metaName(3)))
	truncate(t, filepath.Join(s.Dir, docName(2)), 10)
	got, err := s.History()
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Problem == nil {
		t.Error("History does not say generation 2 is unreadable")
	}
	// Without meta, generation 3 is compared with 1, skipping the broken one.
	if got[0].Previous != 1 || len(got[0].Changes) != 1 || got[0].Changes[0].Old != "one" {
		t.Errorf("generation 3 without meta: %+v, want changes against generation 1", got[0])
	}
	if _, err := s.LoadGeneration(2); err == nil {
		t.Error("LoadGeneration of a broken generation succeeded")
	}
}

func TestStoreLoadGeneration(t *testing.T) {
	s := newStore(t)
	mustSave(t, s, withHostname("one"))
	second := withHostname("two")
	second.Tunnels[0].PSK = NewSecret(strongPSK3)
	mustSave(t, s, second)
	c, err := s.LoadGeneration(1)
	if err != nil {
		t.Fatal(err)
	}
	if c.System.Hostname != "one" || c.Tunnels[0].PSK.Reveal() != strongPSK1 {
		t.Errorf("LoadGeneration(1) = %q with another PSK; want generation 1 with its secrets", c.System.Hostname)
	}
	if _, err := s.LoadGeneration(7); err == nil || !strings.Contains(err.Error(), "generation 7") {
		t.Errorf("LoadGeneration of a missing generation = %v", err)
	}
}

func TestStorePrunesByCount(t *testing.T) {
	s := newStore(t)
	for i := 1; i <= DefaultKeep+5; i++ {
		mustSave(t, s, withHostname(fmt.Sprintf("gen-%d", i)))
	}
	h, err := s.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != DefaultKeep || h[0].Seq != DefaultKeep+5 || h[len(h)-1].Seq != 6 {
		t.Errorf("kept %d generations, %d..%d; want %d, 6..%d", len(h), h[len(h)-1].Seq, h[0].Seq, DefaultKeep, DefaultKeep+5)
	}
	assertNoStrays(t, s)
}

// TestStorePrunesBySize checks the byte budget: generations beyond MinKeep
// go once the kept ones would take more than MaxBytes, and MinKeep stay
// whatever the budget.
func TestStorePrunesBySize(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBytes int64
		wantMin  int
		wantMax  int
	}{
		{"tiny budget keeps MinKeep", 1, MinKeep, MinKeep},
		{"budget of about 25 generations", 0 /* measured below */, 24, 26},
		{"big budget keeps Keep", 1 << 30, 40, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			s.Keep = 40
			// A tunnel with a long list of networks makes each
			// generation a few KiB, as a real one with sites is.
			big := func(i int) Config {
				c := withHostname(fmt.Sprintf("gen-%d", i))
				for j := range 100 {
					c.Tunnels[1].RemoteNetworks = append(c.Tunnels[1].RemoteNetworks, MustPrefix(fmt.Sprintf("10.%d.%d.0/24", 100+j/200, j%200)))
				}
				return c
			}
			mustSave(t, s, big(0))
			s.MaxBytes = tc.maxBytes
			if s.MaxBytes == 0 {
				s.MaxBytes = 25 * s.generationSize(1)
			}
			for i := 1; i <= 60; i++ {
				mustSave(t, s, big(i))
			}
			seqs, err := s.seqs()
			if err != nil {
				t.Fatal(err)
			}
			if len(seqs) < tc.wantMin || len(seqs) > tc.wantMax {
				t.Errorf("kept %d generations, want %d..%d", len(seqs), tc.wantMin, tc.wantMax)
			}
			var total int64
			for _, n := range seqs {
				total += s.generationSize(n)
			}
			if len(seqs) > MinKeep && total > s.MaxBytes {
				t.Errorf("kept %d generations in %d bytes, over the budget of %d", len(seqs), total, s.MaxBytes)
			}
			if seqs[0] != 61 {
				t.Errorf("newest kept = %d, want 61", seqs[0])
			}
			assertNoStrays(t, s)
		})
	}
}

// assertNoStrays checks every file in the store belongs to a kept generation.
func assertNoStrays(t *testing.T, s *Store) {
	t.Helper()
	seqs, _ := s.seqs()
	kept := map[string]bool{}
	for _, n := range seqs {
		kept[docName(n)], kept[secretsName(n)], kept[metaName(n)] = true, true, true
	}
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		if !kept[e.Name()] {
			t.Errorf("stray file %s after pruning", e.Name())
		}
	}
}

func TestGenerationSummary(t *testing.T) {
	changes := []Change{
		{Field: "system.hostname", Old: "a", New: "b"},
		{Field: "tunnels[x].psk", New: ChangeChanged},
		{Field: "tunnels[y]", New: ChangeAdded},
	}
	for _, tc := range []struct {
		name string
		g    GenerationInfo
		n    int
		want []string
	}{
		{"all fit", GenerationInfo{Previous: 1, Changes: changes}, 5, []string{"system.hostname: a → b", "tunnels[x].psk: changed", "tunnels[y]: added"}},
		{"cut", GenerationInfo{Previous: 1, Changes: changes}, 1, []string{"system.hostname: a → b", "and 2 more changes"}},
		{"cut with more stored", GenerationInfo{Previous: 1, Changes: changes, More: 4}, 2, []string{"system.hostname: a → b", "tunnels[x].psk: changed", "and 5 more changes"}},
		{"one more", GenerationInfo{Previous: 1, Changes: changes[:2]}, 1, []string{"system.hostname: a → b", "and 1 more change"}},
		{"same as before", GenerationInfo{Previous: 1}, 5, []string{"no changes"}},
		{"first save", GenerationInfo{}, 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.g.Summary(tc.n)); diff != "" {
				t.Errorf("Summary (-want +got):\n%s", diff)
			}
		})
	}
}
