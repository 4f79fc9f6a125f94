package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultDir is where the box keeps its config.
const DefaultDir = "/perm/config"

// DefaultKeep is how many saved generations Store keeps for rollback.
const DefaultKeep = 5

// ErrNoConfig means nothing was ever saved: the box is in setup mode.
var ErrNoConfig = errors.New("no saved config")

// Store keeps the config in a directory as numbered generations:
//
//	config-00000007.json    the document, secrets replaced by "(hidden)" (0644)
//	secrets-00000007.json   its secrets and the document's SHA-256 (0600)
//
// Each save writes a new generation and never touches the older ones, so a
// power cut at any moment leaves the previous generation intact; Load takes
// the newest generation that reads back whole, and says when that was not
// the newest. The secrets file carries the checksum of its document so a
// document is never paired with another save's keys.
type Store struct {
	Dir  string
	Keep int // generations kept; DefaultKeep if 0

	mu sync.Mutex // one save at a time (web UI and console may race)
}

// OpenStore returns a store in dir, creating dir (0700) if needed.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create config dir: %w", err)
	}
	return &Store{Dir: dir}, nil
}

// Generation describes one saved version of the config.
type Generation struct {
	Seq     int
	Saved   time.Time // modification time of the document
	Problem error     // nil when it reads back whole
}

// LoadInfo says what Load loaded.
type LoadInfo struct {
	Seq int // the generation loaded
	// Skipped lists newer generations that could not be read, newest
	// first; non-empty means Load fell back to an older one.
	Skipped []Generation
}

// FellBack reports whether a newer generation was unreadable.
func (i LoadInfo) FellBack() bool { return len(i.Skipped) > 0 }

// String is the line the console and the log print at boot.
func (i LoadInfo) String() string {
	if !i.FellBack() {
		return fmt.Sprintf("loaded config generation %d", i.Seq)
	}
	var why []string
	for _, g := range i.Skipped {
		why = append(why, fmt.Sprintf("generation %d: %v", g.Seq, g.Problem))
	}
	return fmt.Sprintf("loaded config generation %d; newer generations were unreadable (%s)", i.Seq, strings.Join(why, "; "))
}

func (s *Store) keep() int {
	if s.Keep > 0 {
		return s.Keep
	}
	return DefaultKeep
}

func docName(seq int) string     { return fmt.Sprintf("config-%08d.json", seq) }
func secretsName(seq int) string { return fmt.Sprintf("secrets-%08d.json", seq) }

// seqs returns the generation numbers present (those with a document),
// newest first.
func (s *Store) seqs() ([]int, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("list config dir: %w", err)
	}
	var out []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "config-") || !strings.HasSuffix(name, ".json") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "config-"), ".json"))
		if err != nil || n <= 0 {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// Save validates c and writes it as a new generation, then prunes
// generations beyond Keep. It returns the new generation number.
func (s *Store) Save(c Config) (int, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return 0, fmt.Errorf("save config: %w", errs)
	}
	return s.save(c)
}

func (s *Store) save(c Config) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Version = CurrentVersion
	doc, sec := splitSecrets(c)
	docJSON, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return 0, fmt.Errorf("save config: encode: %w", err)
	}
	docJSON = append(docJSON, '\n')
	sum := sha256.Sum256(docJSON)
	sec.Config = hex.EncodeToString(sum[:])
	secJSON, err := json.MarshalIndent(sec, "", "  ")
	if err != nil {
		return 0, fmt.Errorf("save config: encode secrets: %w", err)
	}

	seqs, err := s.seqs()
	if err != nil {
		return 0, fmt.Errorf("save config: %w", err)
	}
	seq := 1
	if len(seqs) > 0 {
		seq = seqs[0] + 1
	}
	// Secrets first: the document's rename is the commit point, and a
	// document must never be visible without its secrets.
	if err := writeAtomic(s.Dir, secretsName(seq), secJSON, 0o600); err != nil {
		return 0, fmt.Errorf("save config generation %d: %w", seq, err)
	}
	if err := writeAtomic(s.Dir, docName(seq), docJSON, 0o644); err != nil {
		return 0, fmt.Errorf("save config generation %d: %w", seq, err)
	}
	if err := s.prune(append([]int{seq}, seqs...)); err != nil {
		// The new generation is saved; an old file left behind is harmless.
		return seq, fmt.Errorf("saved config generation %d, but pruning failed: %w", seq, err)
	}
	return seq, nil
}

// prune removes generations beyond Keep and leftovers of interrupted saves.
func (s *Store) prune(seqs []int) error {
	var errs []error
	if len(seqs) > s.keep() {
		for _, n := range seqs[s.keep():] {
			for _, name := range []string{docName(n), secretsName(n)} {
				if err := os.Remove(filepath.Join(s.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, err)
				}
			}
		}
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	oldest := seqs[min(len(seqs), s.keep())-1]
	for _, e := range entries {
		name := e.Name()
		orphan := false
		if strings.HasPrefix(name, tempPrefix) {
			orphan = true // a save cut short; never renamed, never read
		} else if rest, ok := strings.CutPrefix(name, "secrets-"); ok {
			// Secrets whose document never made it (cut between the
			// two renames), or of a pruned generation.
			n, err := strconv.Atoi(strings.TrimSuffix(rest, ".json"))
			orphan = err == nil && (n < oldest || !slices.Contains(seqs, n))
		}
		if orphan {
			if err := os.Remove(filepath.Join(s.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := syncDir(s.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Load returns the newest generation that reads back whole. With nothing
// saved it returns an error matching ErrNoConfig.
func (s *Store) Load() (Config, LoadInfo, error) {
	seqs, err := s.seqs()
	if err != nil {
		return Config{}, LoadInfo{}, fmt.Errorf("load config: %w", err)
	}
	if len(seqs) == 0 {
		return Config{}, LoadInfo{}, fmt.Errorf("load config from %s: %w", s.Dir, ErrNoConfig)
	}
	var info LoadInfo
	for _, n := range seqs {
		c, err := s.read(n)
		if err != nil {
			info.Skipped = append(info.Skipped, Generation{Seq: n, Problem: err})
			continue
		}
		info.Seq = n
		return c, info, nil
	}
	return Config{}, info, fmt.Errorf("load config: no generation is readable: %s", info)
}

// read loads one generation with its secrets.
func (s *Store) read(seq int) (Config, error) {
	docJSON, err := os.ReadFile(filepath.Join(s.Dir, docName(seq)))
	if err != nil {
		return Config{}, err
	}
	c, err := Decode(docJSON)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", docName(seq), err)
	}
	secJSON, err := os.ReadFile(filepath.Join(s.Dir, secretsName(seq)))
	if err != nil {
		return Config{}, fmt.Errorf("secrets: %w", err)
	}
	var sec secretsFile
	if err := json.Unmarshal(secJSON, &sec); err != nil {
		// Do not wrap: a syntax error could quote part of a key.
		return Config{}, fmt.Errorf("%s is not valid JSON", secretsName(seq))
	}
	sum := sha256.Sum256(docJSON)
	if sec.Config != hex.EncodeToString(sum[:]) {
		return Config{}, fmt.Errorf("%s belongs to another save of %s", secretsName(seq), docName(seq))
	}
	return joinSecrets(c, sec), nil
}

// List returns the saved generations, newest first, each with whether it
// reads back whole.
func (s *Store) List() ([]Generation, error) {
	seqs, err := s.seqs()
	if err != nil {
		return nil, err
	}
	var out []Generation
	for _, n := range seqs {
		g := Generation{Seq: n}
		if fi, err := os.Stat(filepath.Join(s.Dir, docName(n))); err == nil {
			g.Saved = fi.ModTime()
		}
		_, g.Problem = s.read(n)
		out = append(out, g)
	}
	return out, nil
}

// Rollback saves generation seq again as the newest generation and returns
// the new number. Rolling back is itself a save, so it can be undone, and
// the generations it skips stay available until pruned. It does not
// re-validate: seq is a document the box accepted before, and a stricter
// firmware must not keep an operator from going back to it.
func (s *Store) Rollback(seq int) (int, error) {
	c, err := s.read(seq)
	if err != nil {
		return 0, fmt.Errorf("roll back to config generation %d: %w", seq, err)
	}
	n, err := s.save(c)
	if err != nil {
		return n, fmt.Errorf("roll back to config generation %d: %w", seq, err)
	}
	return n, nil
}
