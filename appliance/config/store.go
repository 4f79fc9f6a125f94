package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultDir is where the box keeps its config.
const DefaultDir = "/perm/config"

// How many generations Store keeps, and in how much space. It keeps the
// newest Keep (DefaultKeep) generations, but prunes the oldest beyond
// MinKeep once they take more than MaxBytes (DefaultMaxBytes) together, so
// /perm holds a bounded history of at least MinKeep saves whatever their
// size (a config is at most a few hundred KiB; see limits.go).
const (
	DefaultKeep     = 50
	MinKeep         = 20
	DefaultMaxBytes = 4 << 20
)

// Where a generation came from, as the history shows it (SaveOptions.Source).
const (
	SourceWebUI        = "web UI"
	SourceAPI          = "API"
	SourceConsole      = "console"
	SourceProvisioning = "provisioning file"
	SourceRestore      = "restore"
	SourceUpdate       = "update"
	SourceTrialRevert  = "trial revert"
)

// ErrStale means a save was based on a generation that is no longer the
// newest: someone else saved in between (SaveOptions.BasedOn).
var ErrStale = errors.New("the config changed since this edit began")

// ErrPermFull means a save found no space left on the data partition.
// Nothing of the new generation is kept, and every saved generation, the
// running config included, is as it was. Its text is for the operator.
var ErrPermFull = errors.New("the data partition /perm is full: nothing was saved, and the running config and every saved generation are unchanged; free space on it or move to a larger disk")

// ErrNoConfig means nothing was ever saved: the box is in setup mode.
var ErrNoConfig = errors.New("no saved config")

// Store keeps the config in a directory as numbered generations:
//
//	config-00000007.json    the document, secrets replaced by "(hidden)" (0644)
//	secrets-00000007.json   its secrets and the document's SHA-256 (0600)
//	meta-00000007.json      when and from where it was saved, what changed (0600)
//
// Each save writes a new generation and never touches the older ones, so a
// power cut at any moment leaves the previous generation intact; Load takes
// the newest generation that reads back whole, and says when that was not
// the newest. The secrets file carries the checksum of its document so a
// document is never paired with another save's keys. The meta file is
// history only: a generation without one (saved by older firmware, or
// whose meta file broke) still loads.
type Store struct {
	Dir      string
	Keep     int   // generations kept at most; DefaultKeep if 0
	MaxBytes int64 // budget for generations beyond MinKeep; DefaultMaxBytes if 0

	// now stamps the meta record; time.Now if nil (tests set it).
	now func() time.Time

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

func (s *Store) maxBytes() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return DefaultMaxBytes
}

func (s *Store) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func docName(seq int) string     { return fmt.Sprintf("config-%08d.json", seq) }
func secretsName(seq int) string { return fmt.Sprintf("secrets-%08d.json", seq) }
func metaName(seq int) string    { return fmt.Sprintf("meta-%08d.json", seq) }

// SaveOptions says where a save came from, for the history.
type SaveOptions struct {
	// Source is one of the Source constants (free text is kept as given).
	Source string
	// RestoredFrom is the generation a restore or revert brought back.
	RestoredFrom int
	// BasedOn, when not 0, is the generation the change was made from;
	// the save fails with ErrStale unless that is still the newest, so
	// two editors cannot silently overwrite each other.
	BasedOn int
}

// meta is the shape of a generation's meta file.
type meta struct {
	Saved        time.Time `json:"saved"`
	Source       string    `json:"source,omitempty"`
	RestoredFrom int       `json:"restored_from,omitempty"`
	// Previous is the generation Changes are against (0: none readable).
	Previous int      `json:"previous,omitempty"`
	Changes  []Change `json:"changes,omitempty"`
	// More counts changes left out of Changes to keep the file small.
	More int `json:"more,omitempty"`
}

// maxMetaChanges bounds the changes a meta file lists.
const maxMetaChanges = 100

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

// Save validates c and writes it as a new generation, then prunes old
// generations (see DefaultKeep). It returns the new generation number.
// The history shows no source for it; prefer SaveWith.
func (s *Store) Save(c Config) (int, error) {
	return s.SaveWith(c, SaveOptions{})
}

// SaveFrom is Save with the source the history shows (SourceWebUI, ...).
func (s *Store) SaveFrom(c Config, source string) (int, error) {
	return s.SaveWith(c, SaveOptions{Source: source})
}

// SaveWith is Save with what the history records about the save.
func (s *Store) SaveWith(c Config, o SaveOptions) (int, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return 0, fmt.Errorf("save config: %w", errs)
	}
	return s.save(c, o)
}

// abandon removes what a failed save of generation seq wrote before its
// document (the commit point), so a full disk is not left fuller, and
// says why the save failed: in plain words when the disk is full.
func (s *Store) abandon(seq int, err error) error {
	os.Remove(filepath.Join(s.Dir, secretsName(seq)))
	os.Remove(filepath.Join(s.Dir, metaName(seq)))
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("save config generation %d: %w (%v)", seq, ErrPermFull, err)
	}
	return fmt.Errorf("save config generation %d: %w", seq, err)
}

func (s *Store) save(c Config, o SaveOptions) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	docJSON, secJSON, err := EncodeWithSecrets(c)
	if err != nil {
		return 0, fmt.Errorf("save config: %w", err)
	}

	seqs, err := s.seqs()
	if err != nil {
		return 0, fmt.Errorf("save config: %w", err)
	}
	seq := 1
	if len(seqs) > 0 {
		seq = seqs[0] + 1
	}
	if o.BasedOn != 0 && (len(seqs) == 0 || seqs[0] != o.BasedOn) {
		return 0, fmt.Errorf("save config based on generation %d (newest is %d): %w", o.BasedOn, seq-1, ErrStale)
	}
	metaJSON, err := json.MarshalIndent(s.newMeta(c, o, seqs), "", "  ")
	if err != nil {
		return 0, fmt.Errorf("save config: encode meta: %w", err)
	}
	// Secrets and meta first: the document's rename is the commit point,
	// and a document must never be visible without its secrets.
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{{secretsName(seq), secJSON, 0o600}, {metaName(seq), metaJSON, 0o600}, {docName(seq), docJSON, 0o644}} {
		if err := writeAtomic(s.Dir, f.name, f.data, f.perm); err != nil {
			return 0, s.abandon(seq, err)
		}
	}
	if err := s.prune(append([]int{seq}, seqs...)); err != nil {
		// The new generation is saved; an old file left behind is harmless.
		return seq, fmt.Errorf("saved config generation %d, but pruning failed: %w", seq, err)
	}
	return seq, nil
}

// newMeta records when and from where c is saved, and what changed since
// the newest generation that reads back whole.
func (s *Store) newMeta(c Config, o SaveOptions, seqs []int) meta {
	m := meta{Saved: s.clock().UTC(), Source: o.Source, RestoredFrom: o.RestoredFrom}
	for _, n := range seqs {
		prev, err := s.read(n)
		if err != nil {
			continue
		}
		m.Previous = n
		m.Changes = Diff(prev, c)
		if len(m.Changes) > maxMetaChanges {
			m.More = len(m.Changes) - maxMetaChanges
			m.Changes = m.Changes[:maxMetaChanges]
		}
		break
	}
	return m
}

// generationSize is the space generation n takes on disk.
func (s *Store) generationSize(n int) int64 {
	var size int64
	for _, name := range []string{docName(n), secretsName(n), metaName(n)} {
		if fi, err := os.Stat(filepath.Join(s.Dir, name)); err == nil {
			size += fi.Size()
		}
	}
	return size
}

// kept returns how many of seqs (newest first) to keep: at most Keep, and
// beyond MinKeep only while all of them fit in MaxBytes.
func (s *Store) kept(seqs []int) int {
	var total int64
	for i, n := range seqs {
		if i >= s.keep() {
			return i
		}
		total += s.generationSize(n)
		if i >= min(MinKeep, s.keep()) && total > s.maxBytes() {
			return i
		}
	}
	return len(seqs)
}

// prune removes old generations (see kept) and leftovers of interrupted
// saves.
func (s *Store) prune(seqs []int) error {
	var errs []error
	keep := s.kept(seqs)
	for _, n := range seqs[keep:] {
		// The document first: once it is gone the generation is gone,
		// and the rest are orphans the next prune removes.
		for _, name := range []string{docName(n), secretsName(n), metaName(n)} {
			if err := os.Remove(filepath.Join(s.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	oldest := seqs[keep-1]
	for _, e := range entries {
		name := e.Name()
		orphan := false
		if strings.HasPrefix(name, tempPrefix) {
			orphan = true // a save cut short; never renamed, never read
		} else if n, ok := companionSeq(name); ok {
			// Secrets or meta whose document never made it (cut
			// between the renames), or of a pruned generation.
			orphan = n < oldest || !slices.Contains(seqs, n)
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

// companionSeq returns the generation of a secrets or meta file.
func companionSeq(name string) (int, bool) {
	for _, prefix := range []string{"secrets-", "meta-"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(rest, ".json"))
			return n, err == nil
		}
	}
	return 0, false
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
	secJSON, err := os.ReadFile(filepath.Join(s.Dir, secretsName(seq)))
	if err != nil {
		return Config{}, fmt.Errorf("secrets: %w", err)
	}
	return decodeWithSecrets(docJSON, secJSON, docName(seq), secretsName(seq))
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
	return s.RollbackWith(seq, SaveOptions{Source: SourceRestore})
}

// RollbackWith is Rollback with what the history records (a trial that
// ran out is SourceTrialRevert; BasedOn guards against a save in between).
// RestoredFrom is always seq.
func (s *Store) RollbackWith(seq int, o SaveOptions) (int, error) {
	c, err := s.read(seq)
	if err != nil {
		return 0, fmt.Errorf("roll back to config generation %d: %w", seq, err)
	}
	o.RestoredFrom = seq
	n, err := s.save(c, o)
	if err != nil {
		return n, fmt.Errorf("roll back to config generation %d: %w", seq, err)
	}
	return n, nil
}
