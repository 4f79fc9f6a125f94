// Package provision imports a config dropped at the root of the ESP before
// first boot, for VMs and headless boxes: tunneler.json (the stored
// document's schema) or tunneler.env (the openvnf/vnf-ipsec variables).
//
// A valid file is saved into the config store (which fsyncs), then its
// bytes are overwritten and it is deleted, so no secret stays on the FAT
// partition. An invalid file is kept, renamed to NAME.invalid so the next
// boot does not stumble on it again, and the result says exactly what is
// wrong (line, variable or field, message) for the console and the web UI.
package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tunneler/tunneler/appliance/atomicfile"
	"github.com/tunneler/tunneler/appliance/config"
	"golang.org/x/sys/unix"
)

// File names looked for at the root of the ESP (FAT: matched without
// regard to case).
const (
	JSONName = "tunneler.json"
	EnvName  = "tunneler.env"
	// InvalidSuffix is appended to a file that could not be imported.
	InvalidSuffix = ".invalid"
)

// maxFile bounds what is read from the ESP: a whole document.
const maxFile = config.MaxDocumentBytes

// Saver is the config store.
type Saver interface {
	SaveFrom(c config.Config, source string) (int, error)
}

// Result says what provisioning found and did.
type Result struct {
	File string // the file found, "" when there was none
	// From is the volume it was on, as the console says it: "" is the
	// ESP (and results kept by an older firmware), else a config drive.
	From     string `json:"from,omitempty"`
	Imported bool
	Seq      int      // the store generation it was saved as
	Warnings []string // what the box maps or ignores (imported anyway)
	Problems []string // why it was not imported, one line each
	KeptAs   string   // name the invalid file now has
	Removed  bool     // the imported file is gone from the ESP
	// Err is a failure of the box itself (store, ESP), not of the file.
	Err error `json:"-"`
}

// Where says which volume the file was on, for messages.
func (r Result) Where() string {
	if r.From == "" {
		return "the ESP"
	}
	return r.From
}

// Lines is the report for the console and the status note, one line each.
// It never contains a secret: problems name variables and fields, and the
// config package never echoes a PSK or hash in a message.
func (r Result) Lines() []string {
	if r.File == "" {
		return nil
	}
	var out []string
	switch {
	case r.Imported:
		out = append(out, fmt.Sprintf("provisioning: imported %s from %s as config generation %d", r.File, r.Where(), r.Seq))
		if r.Removed {
			out = append(out, fmt.Sprintf("provisioning: %s erased and removed from %s", r.File, r.Where()))
		}
	case len(r.Problems) > 0:
		kept := ""
		if r.KeptAs != "" {
			kept = fmt.Sprintf("; kept on %s as %s", r.Where(), r.KeptAs)
		}
		on := ""
		if r.From != "" {
			on = " on " + r.From
		}
		out = append(out, fmt.Sprintf("provisioning: %s%s NOT imported: %d problem(s)%s", r.File, on, len(r.Problems), kept))
		for _, p := range r.Problems {
			out = append(out, fmt.Sprintf("provisioning: %s: %s", r.File, p))
		}
	}
	for _, w := range r.Warnings {
		out = append(out, fmt.Sprintf("provisioning: %s: %s", r.File, w))
	}
	if r.Err != nil {
		out = append(out, fmt.Sprintf("provisioning: %s: %v", r.File, r.Err))
	}
	return out
}

// find returns the names in dir matching want, ignoring case.
func find(dir, want string) (string, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.EqualFold(e.Name(), want) {
			return e.Name(), true
		}
	}
	return "", false
}

// Run provisions from dir, the root of the mounted ESP. With no file there
// it returns a zero Result. tunneler.json wins when both files are there;
// the env file is then reported and left alone.
func Run(dir string, store Saver) Result {
	name, warns := Pick(dir, "the ESP")
	if name == "" {
		return Result{}
	}
	r := importFile(dir, name, store)
	r.Warnings = append(r.Warnings, warns...)
	return r
}

// Pick returns the provisioning file at the root of dir (where names it
// in warnings): tunneler.json wins over tunneler.env, which is then a
// warning. "" when there is neither.
func Pick(dir, where string) (name string, warns []string) {
	jsonName, hasJSON := find(dir, JSONName)
	envName, hasEnv := find(dir, EnvName)
	switch {
	case hasJSON:
		if hasEnv {
			warns = append(warns, fmt.Sprintf("%s is also on %s and was not read: remove it", envName, where))
		}
		return jsonName, warns
	case hasEnv:
		return envName, nil
	}
	return "", nil
}

// Parse reads a provisioning file of the kind its name says (tunneler.json
// or tunneler.env, any case): the config, what the box maps or ignores
// (warnings), and why it cannot be imported (problems), one line each.
func Parse(name string, rd io.Reader) (c config.Config, warns, probs []string) {
	if strings.EqualFold(name, EnvName) {
		return importEnv(io.LimitReader(rd, maxFile))
	}
	return importJSON(io.LimitReader(rd, maxFile))
}

func importJSON(rd io.Reader) (config.Config, []string, []string) {
	c, err := config.ImportJSON(rd)
	if err == nil {
		return c, nil, nil
	}
	var fe config.FieldErrors
	var de *config.DecodeError
	switch {
	case errors.As(err, &fe):
		var probs []string
		for _, e := range fe {
			probs = append(probs, e.Error())
		}
		return c, nil, probs
	case errors.As(err, &de):
		return c, nil, []string{de.Error()}
	}
	return c, nil, []string{err.Error()}
}

func importEnv(rd io.Reader) (config.Config, []string, []string) {
	c, probs := config.ImportEnv(rd)
	var warns, errs []string
	for _, p := range probs {
		if p.Warning {
			warns = append(warns, p.Error())
		} else {
			errs = append(errs, p.Error())
		}
	}
	return c, warns, errs
}

func importFile(dir, name string, store Saver) Result {
	r := Result{File: name}
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		r.Err = fmt.Errorf("open: %w", err)
		return r
	}
	c, warns, probs := Parse(name, f)
	f.Close()
	r.Warnings = warns
	if len(probs) > 0 {
		return keepInvalid(r, dir, name, "the invalid file", probs...)
	}
	return saveAndErase(r, store, c, config.SourceProvisioning, dir, path)
}

// keepInvalid adds problems to r and renames dir/name with InvalidSuffix,
// so the next boot does not try it again and the operator sees which file
// failed. what names the file in the error if the rename fails.
func keepInvalid(r Result, dir, name, what string, problems ...string) Result {
	r.Problems = append(r.Problems, problems...)
	r.KeptAs = name + InvalidSuffix
	if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, r.KeptAs)); err != nil {
		r.KeptAs = ""
		r.Err = fmt.Errorf("rename %s: %w", what, err)
	}
	syncDir(dir)
	return r
}

// saveAndErase saves c as provisioned from path, then erases path from the
// ESP (it holds secrets). A store that fails keeps the file where it is,
// so the next boot tries again.
func saveAndErase(r Result, store Saver, c config.Config, source, dir, path string) Result {
	if r = Save(r, store, c, source); !r.Imported {
		return r
	}
	if err := Erase(path); err != nil {
		r.Err = fmt.Errorf("imported, but could not remove %s from the ESP (it still holds secrets): %w", filepath.Base(path), err)
		return r
	}
	syncDir(dir)
	r.Removed = true
	return r
}

// Save saves c into the store as imported from r's file (source says how:
// config.SourceProvisioning, config.SourceRestore) and notes the
// generation in r, or the store's failure in r.Err.
func Save(r Result, store Saver, c config.Config, source string) Result {
	seq, err := store.SaveFrom(c, source)
	if err != nil {
		r.Err = fmt.Errorf("save into the config store: %w", err)
		return r
	}
	r.Imported, r.Seq = true, seq
	return r
}

// Erase overwrites the file's bytes with zeros before deleting it: a FAT
// delete only marks the directory entry, and the PSK would stay readable
// in the freed clusters.
func Erase(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil {
		zeros := make([]byte, 4096)
		for left := st.Size(); left > 0 && err == nil; left -= int64(len(zeros)) {
			n := min(left, int64(len(zeros)))
			_, err = f.Write(zeros[:n])
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("overwrite %s: %w", filepath.Base(path), err)
	}
	return os.Remove(path)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// WriteStatus writes r's report to path (e.g. /perm/state/provisioning.txt)
// for the operator, and r itself beside it as JSON (provisioning.json) so
// a later boot can show a rejected file again: the operator may reboot
// before opening the web UI, and the file is no longer there to reject.
// Nothing is written when there is nothing to say: an earlier report stays
// until a file is provisioned again.
func WriteStatus(path string, r Result) error {
	lines := r.Lines()
	if len(lines) == 0 {
		return nil
	}
	if err := atomicfile.Write(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write provisioning report: %w", err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(resultPath(path), data, 0o600); err != nil {
		return fmt.Errorf("write provisioning result: %w", err)
	}
	return nil
}

// LastRejected returns the result WriteStatus last kept beside path when
// it was a file that was not imported; ok is false otherwise (none kept,
// unreadable, or the last file was imported).
func LastRejected(path string) (r Result, ok bool) {
	data, err := os.ReadFile(resultPath(path))
	if err != nil || json.Unmarshal(data, &r) != nil {
		return Result{}, false
	}
	if r.File == "" || r.Imported || len(r.Problems) == 0 {
		return Result{}, false
	}
	return r, true
}

func resultPath(statusPath string) string {
	return strings.TrimSuffix(statusPath, filepath.Ext(statusPath)) + ".json"
}

// ESP mounts the ESP read-write at dir for the duration of fn, then
// unmounts it (which writes everything back). device is the partition's
// block device (perm.Find with perm.ESPName).
func ESP(device, dir string, fn func(dir string) error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// No exec, no devices, no setuid; files only root can read.
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount(device, dir, "vfat", flags, "umask=0077,shortname=mixed,errors=remount-ro"); err != nil {
		return fmt.Errorf("mount ESP %s: %w", device, err)
	}
	ferr := fn(dir)
	unix.Sync()
	if err := unix.Unmount(dir, 0); err != nil {
		return errors.Join(ferr, fmt.Errorf("unmount ESP: %w", err))
	}
	return ferr
}
