// Package perm finds, checks and mounts the data partition, /perm, where the
// box keeps its config, secrets, logs and state across reboots.
//
// It decides between three cases and never confuses them: a partition that
// still carries BlankMarker (first boot: make the filesystem), one with an
// ext4 filesystem (mount it), and anything else (damaged or wiped: report it
// and leave it alone until the operator asks for a format).
package perm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// State says what was found on the data partition.
type State string

const (
	Missing   State = "missing"   // no partition named perm
	Blank     State = "blank"     // never formatted (BlankMarker)
	Formatted State = "formatted" // ext4 signature present
	Unknown   State = "unknown"   // neither: damaged or wiped
)

// Partition is a block device found by its GPT partition name.
type Partition struct {
	Name   string // kernel name, e.g. vda2
	Device string // /dev/vda2
}

// Find looks through sysfs for the partition with the given GPT name.
func Find(sysfs, partName string) (Partition, error) {
	for _, d := range BlockDevices(sysfs) {
		if d.PartName == partName {
			return Partition{Name: d.Name, Device: "/dev/" + d.Name}, nil
		}
	}
	return Partition{}, fmt.Errorf("no partition named %q", partName)
}

// BlockDevice is a block device as sysfs lists it.
type BlockDevice struct {
	Name     string // kernel name, e.g. vda2
	PartName string // GPT partition name, "" for none
	Dir      string // its sysfs directory, for attributes such as "ro"
}

// BlockDevices lists the block devices in sysfs, by name, from their
// uevent files; one without a device name is left out.
func BlockDevices(sysfs string) []BlockDevice {
	uevents, _ := filepath.Glob(filepath.Join(sysfs, "class", "block", "*", "uevent"))
	var out []BlockDevice
	for _, ue := range uevents {
		data, err := os.ReadFile(ue)
		if err != nil {
			continue
		}
		d := BlockDevice{Dir: filepath.Dir(ue)}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "DEVNAME="); ok {
				d.Name = v
			}
			if v, ok := strings.CutPrefix(line, "PARTNAME="); ok {
				d.PartName = v
			}
		}
		if d.Name != "" {
			out = append(out, d)
		}
	}
	return out
}

// ext4 superblock: 1024 bytes in, magic 0xEF53 at offset 56.
const (
	superblockOffset = 1024
	ext4MagicOffset  = superblockOffset + 56
	ext4Magic        = 0xEF53
)

// Probe reads the start of a device and says what is on it.
func Probe(r io.ReaderAt) (State, error) {
	head := make([]byte, superblockOffset+1024)
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return Unknown, fmt.Errorf("read partition start: %w", err)
	}
	if bytes.HasPrefix(head, []byte(BlankMarker)) {
		return Blank, nil
	}
	if binary.LittleEndian.Uint16(head[ext4MagicOffset:]) == ext4Magic {
		return Formatted, nil
	}
	return Unknown, nil
}

// Runner runs a command to completion and returns its combined output. In
// PID 1 it goes through the reaper, which owns all waiting.
type Runner func(*exec.Cmd) ([]byte, error)

// Format makes an ext4 filesystem labelled perm on the device. Only called
// for a Blank partition at first boot, or when the operator asks.
func Format(device string, run Runner) error {
	cmd := exec.Command("/sbin/mke2fs", "-t", "ext4", "-q", "-F", "-L", PartitionName,
		"-E", "lazy_itable_init=1,lazy_journal_init=1", device)
	if out, err := run(cmd); err != nil {
		return fmt.Errorf("make ext4 on %s: %v: %s", device, err, bytes.TrimSpace(out))
	}
	return nil
}

// Mount mounts the ext4 device at dir.
func Mount(device, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(device, dir, "ext4", unix.MS_NOATIME|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", device, dir, err)
	}
	return nil
}

// Result is what Open did, for the console and the status page.
type Result struct {
	Partition Partition
	State     State
	Mounted   bool
	Formatted bool   // made on this boot
	Problem   string // plain words, empty when mounted
}

// Open finds the data partition, makes its filesystem if it is blank, and
// mounts it at dir. It never formats a partition that is not Blank. A box
// booted from a disk (fromDisk) waits for that disk's partition to appear,
// up to DiskWait; a direct kernel boot looks once.
func Open(sysfs, dir string, fromDisk bool, run Runner) Result {
	var wait time.Duration
	var events Events
	if fromDisk {
		wait = DiskWait
		if ev, err := ListenBlockEvents(); err == nil {
			events = ev
			defer ev.Close()
		}
	}
	p, err := WaitFind(sysfs, PartitionName, wait, events)
	if err != nil {
		return Result{State: Missing, Problem: "no data partition (GPT partition named \"perm\") was found; settings cannot be saved"}
	}
	res := Result{Partition: p}
	f, err := os.Open(p.Device)
	if err != nil {
		res.State = Unknown
		res.Problem = fmt.Sprintf("cannot open %s: %v", p.Device, err)
		return res
	}
	res.State, err = Probe(f)
	f.Close()
	if err != nil {
		res.Problem = fmt.Sprintf("%s: %v", p.Device, err)
		return res
	}
	switch res.State {
	case Blank:
		if err := Format(p.Device, run); err != nil {
			res.Problem = err.Error()
			return res
		}
		res.Formatted = true
	case Unknown:
		res.Problem = fmt.Sprintf("%s has no readable filesystem (damaged or wiped); it was left as it is. Choose \"Format /perm\" in the console menu to start afresh", p.Device)
		return res
	}
	if err := Mount(p.Device, dir); err != nil {
		res.Problem = fmt.Sprintf("%v; the filesystem may be damaged and was left as it is. Choose \"Format /perm\" in the console menu to start afresh", err)
		return res
	}
	res.Mounted = true
	return res
}

// FormatAndMount is the operator's explicit "Format /perm": it erases the
// partition whatever is on it.
func FormatAndMount(p Partition, dir string, run Runner) error {
	unix.Unmount(dir, 0)
	if err := Format(p.Device, run); err != nil {
		return err
	}
	return Mount(p.Device, dir)
}

// Unmount syncs and unmounts dir; if something still holds it, it is
// remounted read-only so the journal is clean at power-off.
func Unmount(dir string) error {
	unix.Sync()
	if err := unix.Unmount(dir, 0); err == nil {
		return nil
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", dir, err)
	}
	return nil
}
