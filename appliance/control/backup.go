package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tunneler/tunneler/appliance/backup"
	"github.com/tunneler/tunneler/appliance/config"
)

// A backup that restores (issue 14): the whole config with its secrets
// and the directories on /perm that make the box itself (the router's
// enrolled identity, the web UI's certificate), sealed with a passphrase
// the operator types (appliance/backup). Restoring it puts the files in
// place first, then saves the config through the owner like any change,
// so a config never names an identity that is not there.

// PermDir is a directory under /perm a backup carries, replaced whole on
// restore (backup.ReplaceDir).
type PermDir struct {
	// Rel is its path relative to Deps.PermDir, e.g. "ziti/identity".
	Rel string
	// StagePrefix and LastFile are ReplaceDir's: for the router's
	// identity ".enroll-" and "enrollment.json", so the router's own
	// tidy-up finishes or undoes a swap a power cut interrupted.
	StagePrefix, LastFile string
	// Router: the router must be stopped while this one is replaced.
	Router bool
}

// RestorePlan is an opened backup, ready to restore: the config adapted
// to this box's NICs, and the notes saying what was rebound (the operator
// confirms them before anything is written).
type RestorePlan struct {
	Config  config.Config
	Files   map[string][]byte
	Notes   []string
	Created time.Time
	// Firmware made the backup.
	Firmware string
}

// ErrNoPerm answers a backup or a restore on a box without /perm.
var ErrNoPerm = errors.New("/perm is not mounted: there is nothing to back up or restore into (see the console)")

// Backup writes an encrypted backup of the newest saved config, secrets
// included, and the PermDirs to w. A passphrase shorter than
// backup.MinPassphrase is refused (backup.ErrWeakPassphrase) before a
// byte is written.
func (o *Owner) Backup(w io.Writer, passphrase string) error {
	c, _, ok := o.stored()
	if !ok {
		return errors.New("nothing to back up: the box has not been set up")
	}
	files := map[string][]byte{}
	if o.d.PermDir != "" && o.d.BackupDirs != nil {
		var rels []string
		for _, d := range o.d.BackupDirs(c) {
			rels = append(rels, d.Rel)
		}
		var err error
		if files, err = backup.Collect(o.d.PermDir, rels...); err != nil {
			return fmt.Errorf("make backup: %w", err)
		}
	}
	if err := backup.Export(w, backup.Contents{Config: c, Files: files, Firmware: o.d.Version}, passphrase); err != nil {
		return err
	}
	o.d.Logf("encrypted backup made of generation %d (%d files from /perm)", o.Generation(), len(files))
	return nil
}

// OpenBackup reads an encrypted backup: its errors are backup.Import's
// (wrong passphrase, cut short, damaged, newer format, a config this
// firmware refuses). Nothing is written. Interfaces bound to MAC
// addresses this box lacks are rebound to its NICs, each in a note.
func (o *Owner) OpenBackup(r io.Reader, passphrase string) (*RestorePlan, error) {
	got, err := backup.Import(r, passphrase)
	if err != nil {
		return nil, err
	}
	var nics []string
	if o.d.NICs != nil {
		nics = o.d.NICs()
	}
	c, notes := got.Config, []string(nil)
	if len(nics) > 0 {
		c, notes = backup.AdaptToHardware(got.Config, nics)
	}
	return &RestorePlan{Config: c, Files: got.Files, Notes: notes, Created: got.Created, Firmware: got.Firmware}, nil
}

// RestoreBackup restores an opened backup: the PermDirs it carries
// replace this box's (the router stopped meanwhile), then its config is
// saved as a new generation from the restore and applied. base is the
// generation the operator saw (0 on a box in setup); trial > 0 puts the
// restore on trial, and going back then puts the replaced files back too.
// Field errors and a *StaleError mean nothing changed.
func (o *Owner) RestoreBackup(ctx context.Context, p *RestorePlan, base int, by Source, trial time.Duration) (int, config.FieldErrors, error) {
	if o.d.Store == nil {
		return 0, nil, errNoStore
	}
	cur, gen, _ := o.stored()
	if base != gen {
		return 0, nil, &StaleError{Base: base, Newest: gen}
	}
	c := p.Config.KeepSecrets(cur)
	c.Version = config.CurrentVersion
	if errs := c.Validate(); len(errs) > 0 {
		return 0, errs, nil
	}
	dirs := o.restoreDirs(c, p.Files)
	var old map[string][]byte
	router := false
	if len(dirs) > 0 {
		if o.d.PermDir == "" {
			return 0, nil, ErrNoPerm
		}
		var rels []string
		for _, d := range dirs {
			rels = append(rels, d.Rel)
			router = router || d.Router
		}
		var err error
		if old, err = backup.Collect(o.d.PermDir, rels...); err != nil {
			return 0, nil, fmt.Errorf("restore backup: keep a copy of this box's files: %w", err)
		}
		if router {
			if err := o.stopRouter(ctx); err != nil {
				return 0, nil, fmt.Errorf("restore backup: %w", err)
			}
		}
		if err := o.replaceDirs(dirs, p.Files); err != nil {
			o.putBack(dirs, old, router)
			return 0, nil, fmt.Errorf("restore backup: %w", err)
		}
	}
	var undo func()
	if trial > 0 && len(dirs) > 0 {
		undo = func() { // under o.mu, before the revert's save
			after := o.gen
			if router {
				if err := o.stopRouter(context.Background()); err != nil {
					o.d.Logf("TRIAL: going back from a restored backup: %v", err)
				}
			}
			if err := o.replaceDirs(dirs, old); err != nil {
				o.d.Logf("TRIAL: going back from a restored backup: put this box's files back: %v", err)
			}
			if router {
				o.startRouterAfterApply(after)
			}
		}
	}
	seq, errs, err := o.saveWith(Change{Config: p.Config, Base: base, Source: FromRestore, Trial: trial}, saveExtra{undo: undo})
	if err != nil || len(errs) > 0 {
		if len(dirs) > 0 {
			o.putBack(dirs, old, router)
		}
		return 0, errs, err
	}
	if by == "" {
		by = "unnamed source"
	}
	o.d.Logf("encrypted backup (made %s by firmware %q) restored from the %s as generation %d; %d files from /perm replaced",
		p.Created.Format(time.RFC3339), p.Firmware, by, seq, len(p.Files))
	if router {
		o.startRouterAfterApply(seq - 1)
	}
	return seq, nil, nil
}

// restoreDirs are the PermDirs the backup has files for.
func (o *Owner) restoreDirs(c config.Config, files map[string][]byte) []PermDir {
	if o.d.BackupDirs == nil {
		return nil
	}
	var out []PermDir
	for _, d := range o.d.BackupDirs(c) {
		for name := range files {
			if rel, ok := cutDir(name, d.Rel); ok && rel != "" {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func cutDir(name, dir string) (string, bool) {
	if len(name) > len(dir)+1 && name[:len(dir)] == dir && name[len(dir)] == '/' {
		return name[len(dir)+1:], true
	}
	return "", false
}

// replaceDirs is ReplaceDirs under the owner's /perm.
func (o *Owner) replaceDirs(dirs []PermDir, files map[string][]byte) error {
	return ReplaceDirs(o.d.PermDir, dirs, files)
}

// ReplaceDirs makes each of dirs under root hold exactly files' entries
// under it; a dir with none is removed (it did not exist before a
// restore). init's headless restore from the ESP uses it too.
func ReplaceDirs(root string, dirs []PermDir, files map[string][]byte) error {
	for _, d := range dirs {
		has := false
		for name := range files {
			if _, ok := cutDir(name, d.Rel); ok {
				has = true
				break
			}
		}
		if !has {
			if err := os.RemoveAll(filepath.Join(root, filepath.FromSlash(d.Rel))); err != nil {
				return fmt.Errorf("remove %s: %w", d.Rel, err)
			}
			continue
		}
		if err := backup.ReplaceDir(root, d.Rel, files, d.StagePrefix, d.LastFile); err != nil {
			return err
		}
	}
	return nil
}

// putBack undoes a restore that failed half way: this box's own files go
// back, and its router starts again.
func (o *Owner) putBack(dirs []PermDir, old map[string][]byte, router bool) {
	if err := o.replaceDirs(dirs, old); err != nil {
		o.d.Logf("restore backup: putting this box's own files back FAILED: %v", err)
	}
	if router && o.d.StartRouter != nil {
		c, _ := o.Applied()
		if err := o.d.StartRouter(context.Background(), c); err != nil {
			o.d.Logf("restore backup: start the router again: %v", err)
		}
	}
}

func (o *Owner) stopRouter(ctx context.Context) error {
	if o.d.StopRouter == nil {
		return nil
	}
	if err := o.d.StopRouter(ctx); err != nil {
		return fmt.Errorf("stop the router: %w", err)
	}
	return nil
}

// startRouterAfterApply starts the router once a generation newer than
// after is applied: its settings come from that config, and its traffic
// toward the remote networks must find the IPsec policies in place.
func (o *Owner) startRouterAfterApply(after int) {
	if o.d.StartRouter == nil {
		return
	}
	go func() {
		deadline := time.Now().Add(3 * time.Minute)
		for {
			c, gen := o.Applied()
			if gen > after || time.Now().After(deadline) {
				if err := o.d.StartRouter(context.Background(), c); err != nil {
					o.d.Logf("restore backup: start the router: %v", err)
				}
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
}
