package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tunneler/tunneler/appliance/backup"
	"github.com/tunneler/tunneler/appliance/config"
)

// A box restored headless: the encrypted backup made on the old box as
// tunneler-backup at the root of the ESP, its passphrase alone in
// tunneler-backup.pass beside it. The pass file is erased whatever
// happens; the backup once restored, or renamed .invalid when it cannot
// be. The backup's files go to /perm before its config is saved, so the
// config never names a router identity that is not there.
const (
	BackupName     = "tunneler-backup"
	BackupPassName = "tunneler-backup.pass"
)

// maxPass bounds the pass file: a passphrase, not a document.
const maxPass = 4 << 10

// BackupTarget is what a headless restore needs from the box.
type BackupTarget struct {
	// NICs are the box's MAC addresses in PCI order: roles bound to NICs
	// the old box had move onto these, each move a warning.
	NICs []string
	// WriteFiles puts the backup's /perm files (the router's identity,
	// the web UI's certificate) in place for config c.
	WriteFiles func(c config.Config, files map[string][]byte) error
}

// RunBackup restores from tunneler-backup on the ESP mounted at dir. With
// no backup there it returns a zero Result (then Run looks for the other
// files).
func RunBackup(dir string, store Saver, t BackupTarget) Result {
	name, ok := find(dir, BackupName)
	if !ok {
		return Result{}
	}
	r := Result{File: name}
	path := filepath.Join(dir, name)
	reject := func(problem string) Result {
		return keepInvalid(r, dir, name, "the backup that could not be restored", problem)
	}

	passName, ok := find(dir, BackupPassName)
	if !ok {
		return reject(fmt.Sprintf("%s is missing: put the backup's passphrase alone in it, beside the backup", BackupPassName))
	}
	passPath := filepath.Join(dir, passName)
	pass, err := readPass(passPath)
	if eerr := Erase(passPath); eerr != nil {
		r.Err = fmt.Errorf("could not remove %s from the ESP (it holds the passphrase): %w", passName, eerr)
	}
	if err != nil {
		return reject(err.Error())
	}

	f, err := os.Open(path)
	if err != nil {
		r.Err = fmt.Errorf("open: %w", err)
		return r
	}
	got, err := backup.Import(io.LimitReader(f, backup.MaxPayload+64<<10), pass)
	f.Close()
	var fieldErrs config.FieldErrors
	switch {
	case errors.Is(err, backup.ErrWrongPassphrase):
		return reject(fmt.Sprintf("%s: %v", passName, backup.ErrWrongPassphrase))
	case errors.As(err, &fieldErrs):
		for _, fe := range fieldErrs {
			r.Problems = append(r.Problems, "the backup's "+fe.Error())
		}
		return reject("the backup's config is not valid for this firmware")
	case err != nil:
		return reject(strings.TrimPrefix(err.Error(), "read backup: "))
	}
	c, notes := got.Config, []string(nil)
	if len(t.NICs) > 0 {
		c, notes = backup.AdaptToHardware(got.Config, t.NICs)
	}
	r.Warnings = append(r.Warnings, notes...)
	if t.WriteFiles != nil {
		if err := t.WriteFiles(c, got.Files); err != nil {
			// The backup is fine; the box is not. Keep it for the next boot.
			r.Err = fmt.Errorf("put the backup's files on /perm: %w", err)
			return r
		}
	}
	return saveAndErase(r, store, c, config.SourceRestore, dir, path)
}

// readPass reads the passphrase: the file's first line, without the line
// end an editor adds.
func readPass(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if len(b) > maxPass {
		return "", fmt.Errorf("%s is %d bytes: it should hold only the passphrase", filepath.Base(path), len(b))
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pass := strings.TrimSuffix(string(line), "\r")
	if pass == "" {
		return "", fmt.Errorf("%s is empty: put the backup's passphrase in it", filepath.Base(path))
	}
	return pass, nil
}
