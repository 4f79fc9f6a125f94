// Package configdrive imports a config from a drive attached to the box
// before its first boot: a small disk or ISO labelled cidata (cloud-init's
// NoCloud) or config-2 (OpenStack), or any ISO 9660 or FAT volume holding
// tunneler.json or tunneler.env at its root. Hypervisors attach such
// drives where no one can edit the ESP.
//
// The file is imported as the ESP's is (package provision: the same
// parsing, validation and report), and a labelled drive's NoCloud
// user-data may carry it instead (see fromUserData). The drive is mounted
// read-only and never written to, unless it is writable and holds
// tunneler.erase: the operator asks that the file, which holds secrets,
// be erased once imported.
package configdrive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/provision"
	"golang.org/x/sys/unix"
)

// EraseName, at the root of a writable drive, asks the box to erase the
// imported file from it.
const EraseName = "tunneler.erase"

// Mounter mounts a volume's filesystem at dir, read-only unless writable.
type Mounter interface {
	Mount(v Volume, dir string, writable bool) error
	Unmount(dir string) error
}

// Run imports the first provisioning file found on vols (in Find's order)
// into store, mounting each volume at dir in turn. It returns a zero
// Result when no volume holds one.
func Run(vols []Volume, m Mounter, dir string, store provision.Saver) provision.Result {
	for _, v := range vols {
		if r, found := runVolume(v, m, dir, store); found {
			return r
		}
	}
	return provision.Result{}
}

// volumeFile is a provisioning file read off a volume.
type volumeFile struct {
	file     string // its name on the volume (tunneler.json, user-data, ...)
	kind     string // how to parse it: provision.JSONName or EnvName
	body     []byte
	warns    []string
	problem  error // a user-data the box cannot read
	eraseAsk bool  // tunneler.erase is there
}

func runVolume(v Volume, m Mounter, dir string, store provision.Saver) (provision.Result, bool) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return provision.Result{File: v.Name, From: v.String(), Err: err}, v.Labelled()
	}
	if err := m.Mount(v, dir, false); err != nil {
		// Only a labelled volume is known to be meant for the box.
		return provision.Result{File: v.Name, From: v.String(), Err: fmt.Errorf("mount: %w", err)}, v.Labelled()
	}
	f, ok, err := readVolume(dir, v)
	if uerr := m.Unmount(dir); uerr != nil {
		err = errors.Join(err, fmt.Errorf("unmount: %w", uerr))
	}
	if !ok && err == nil {
		return provision.Result{}, false
	}
	r := provision.Result{File: f.file, From: v.String(), Warnings: f.warns}
	if f.file == "" {
		r.File = v.Name
	}
	if err != nil {
		r.Err = err
		return r, true
	}
	if f.problem != nil {
		r.Problems = []string{f.problem.Error()}
		return r, true
	}
	c, warns, probs := provision.Parse(f.kind, bytes.NewReader(f.body))
	r.Warnings = append(r.Warnings, warns...)
	if len(probs) > 0 {
		r.Problems = probs
		return r, true
	}
	r = provision.Save(r, store, c, config.SourceProvisioning)
	if r.Imported {
		r = afterImport(r, v, m, dir, f)
	}
	return r, true
}

// readVolume reads the provisioning file off the mounted volume:
// tunneler.json, else tunneler.env, else (on a labelled drive) the
// user-data. ok is false when there is none.
func readVolume(dir string, v Volume) (f volumeFile, ok bool, err error) {
	name, warns := provision.Pick(dir, v.String())
	f.warns = warns
	f.eraseAsk = exists(filepath.Join(dir, EraseName))
	if name != "" {
		f.file, f.kind = name, name
		f.body, err = readBounded(filepath.Join(dir, name))
		return f, true, err
	}
	if !v.Labelled() {
		return f, false, nil
	}
	for _, p := range userDataPaths {
		data, rerr := readBounded(filepath.Join(dir, p))
		if rerr != nil {
			continue
		}
		c, warns, carries, perr := fromUserData(data)
		f.file = p
		switch {
		case perr != nil:
			f.problem = perr
			return f, true, nil
		case !carries:
			return f, false, nil
		}
		f.kind, f.body = c.kind, c.body
		f.warns = append(f.warns, fmt.Sprintf("the config is the user-data's %s", c.where))
		f.warns = append(f.warns, warns...)
		return f, true, nil
	}
	return f, false, nil
}

// afterImport erases the imported file when the operator asked for it
// and the volume can be written; otherwise it says the drive still holds
// the file's secrets.
func afterImport(r provision.Result, v Volume, m Mounter, dir string, f volumeFile) provision.Result {
	switch {
	case !f.eraseAsk:
		r.Warnings = append(r.Warnings, fmt.Sprintf("left as it is on %s, with its secrets: detach the drive", v))
		return r
	case !v.Writable():
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s asks for erasure, but %s is read-only: detach it, it still holds the file's secrets", EraseName, v))
		return r
	}
	if err := m.Mount(v, dir, true); err != nil {
		r.Err = fmt.Errorf("imported, but could not mount %s to erase %s (it still holds secrets): %w", v, f.file, err)
		return r
	}
	err := provision.Erase(filepath.Join(dir, f.file))
	if err == nil {
		err = os.Remove(filepath.Join(dir, EraseName))
	}
	unix.Sync()
	if uerr := m.Unmount(dir); err == nil && uerr != nil {
		err = uerr
	}
	if err != nil {
		r.Err = fmt.Errorf("imported, but could not erase %s from %s (it still holds secrets): %w", f.file, v, err)
		return r
	}
	r.Removed = true
	return r
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// maxFile bounds what is read off a drive: a config, not a disk image.
const maxFile = 1 << 20

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a config", filepath.Base(path), maxFile)
	}
	return data, nil
}

// KernelMounter mounts with mount(2): no exec, no devices, no setuid,
// files only root can read.
type KernelMounter struct{}

func (KernelMounter) Mount(v Volume, dir string, writable bool) error {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if !writable {
		flags |= unix.MS_RDONLY
	}
	opts := "mode=0400,dmode=0500"
	if v.FSType == VFAT {
		opts = "umask=0077,shortname=mixed"
	}
	if err := unix.Mount(v.Device, dir, v.FSType, flags, opts); err != nil {
		return fmt.Errorf("mount %s (%s) at %s: %w", v.Device, v.FSType, dir, err)
	}
	return nil
}

func (KernelMounter) Unmount(dir string) error { return unix.Unmount(dir, 0) }
