package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// GenerationInfo is one line of the config history: a saved generation,
// when and from where it was saved, and what it changed.
type GenerationInfo struct {
	Seq   int
	Saved time.Time
	// Source is where the save came from (SourceWebUI, ...); "" for a
	// generation saved before the store recorded it.
	Source string
	// RestoredFrom is the generation a restore or revert brought back.
	RestoredFrom int
	// Previous is the generation Changes are against; 0 when none was
	// readable (the first save, or an old generation whose predecessor
	// is pruned).
	Previous int
	// Changes is what changed since Previous; More counts changes left out.
	Changes []Change
	More    int
	// Problem is why this generation does not read back whole (nil when
	// it does); such a generation cannot be restored.
	Problem error
}

// Summary returns at most n lines saying what the generation changed,
// the last one "and 7 more changes" when some are left out.
func (g GenerationInfo) Summary(n int) []string {
	var out []string
	more := g.More
	for i, c := range g.Changes {
		if i >= n {
			more += len(g.Changes) - n
			break
		}
		out = append(out, c.String())
	}
	switch {
	case more == 1:
		out = append(out, "and 1 more change")
	case more > 1:
		out = append(out, fmt.Sprintf("and %d more changes", more))
	case len(out) == 0 && g.Previous != 0 && g.RestoredFrom == 0:
		out = append(out, "no changes")
	}
	return out
}

// History lists the saved generations, newest first. A generation without
// a meta record (older firmware) gets its time from the document's
// modification time and its changes by comparing it with the next older
// generation still kept.
func (s *Store) History() ([]GenerationInfo, error) {
	seqs, err := s.seqs()
	if err != nil {
		return nil, fmt.Errorf("config history: %w", err)
	}
	configs := make([]*Config, len(seqs))
	out := make([]GenerationInfo, len(seqs))
	for i, n := range seqs {
		g := GenerationInfo{Seq: n}
		c, err := s.read(n)
		if err != nil {
			g.Problem = err
		} else {
			configs[i] = &c
		}
		if m, ok := s.readMeta(n); ok {
			g.Saved, g.Source, g.RestoredFrom = m.Saved, m.Source, m.RestoredFrom
			g.Previous, g.Changes, g.More = m.Previous, m.Changes, m.More
		} else if fi, err := os.Stat(filepath.Join(s.Dir, docName(n))); err == nil {
			g.Saved = fi.ModTime()
			g.Previous = -1 // work out below
		}
		out[i] = g
	}
	for i := range out {
		g := &out[i]
		if g.Previous != -1 {
			continue
		}
		g.Previous = 0
		if configs[i] == nil {
			continue
		}
		for j := i + 1; j < len(out); j++ {
			if configs[j] != nil {
				g.Previous = out[j].Seq
				g.Changes = Diff(*configs[j], *configs[i])
				break
			}
		}
	}
	return out, nil
}

// readMeta reads generation n's meta file; false when there is none or it
// does not parse (it is history only, never a reason to refuse a load).
func (s *Store) readMeta(n int) (meta, bool) {
	b, err := os.ReadFile(filepath.Join(s.Dir, metaName(n)))
	if err != nil {
		return meta{}, false
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return meta{}, false
	}
	return m, true
}

// LoadGeneration returns generation seq with its secrets, for showing or
// restoring an older config. Restoring it is Rollback, which saves it anew.
func (s *Store) LoadGeneration(seq int) (Config, error) {
	c, err := s.read(seq)
	if err != nil {
		return Config{}, fmt.Errorf("load config generation %d: %w", seq, err)
	}
	return c, nil
}
