// Package install copies the running box from the disk it booted from (a
// USB stick written from disk.img.zst) onto an internal disk: the boot
// loader and the ESP with its slots and any provisioning file, a blank
// /perm, a GPT that fits the new disk, and the config already entered as
// a headless restore (tunneler-backup on the new ESP). The console menu
// drives it (appliance/opmenu); this package holds the logic, tested on
// loop files.
package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Disk is a whole disk the box could install onto.
type Disk struct {
	Name      string // kernel name: sda, nvme0n1, vdb
	Device    string // /dev/NAME
	Model     string
	Size      int64 // bytes
	Removable bool
	ReadOnly  bool
	Boot      bool // the box runs from it
}

// String is the disk's line in the menu's list.
func (d Disk) String() string {
	model := d.Model
	if model == "" {
		model = "(no model)"
	}
	s := fmt.Sprintf("%-8s %9s  %s", d.Name, humanSize(d.Size), model)
	if d.Removable {
		s += "  removable"
	}
	if d.ReadOnly {
		s += "  read-only"
	}
	if d.Boot {
		s += "  <- the box runs from this disk"
	}
	return s
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%d MiB", n>>20)
	}
}

// List returns the whole disks in sysfs/block by name, bootDisk marked.
// CD-ROMs, floppies and the box's own virtual devices (loop, RAM, zram,
// device mapper) are not disks one installs to.
func List(sysfs, bootDisk string) ([]Disk, error) {
	entries, err := os.ReadDir(filepath.Join(sysfs, "block"))
	if err != nil {
		return nil, fmt.Errorf("list disks: %w", err)
	}
	var disks []Disk
	for _, e := range entries {
		name := e.Name()
		if notADisk(name) {
			continue
		}
		dir := filepath.Join(sysfs, "block", name)
		sectors, err := strconv.ParseInt(readTrim(filepath.Join(dir, "size")), 10, 64)
		if err != nil || sectors == 0 {
			continue // an empty card reader
		}
		d := Disk{
			Name: name, Device: "/dev/" + name, Size: sectors * 512,
			Model:     model(dir),
			Removable: readTrim(filepath.Join(dir, "removable")) == "1",
			ReadOnly:  readTrim(filepath.Join(dir, "ro")) == "1",
			Boot:      name == bootDisk,
		}
		disks = append(disks, d)
	}
	sort.Slice(disks, func(i, j int) bool { return disks[i].Name < disks[j].Name })
	return disks, nil
}

func notADisk(name string) bool {
	for _, p := range []string{"loop", "ram", "zram", "dm-", "sr", "fd", "md", "mtdblock"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// model is the vendor and model the kernel read from the device (SCSI,
// SATA and USB disks have both; NVMe and virtio have a model or none).
func model(dir string) string {
	vendor := readTrim(filepath.Join(dir, "device", "vendor"))
	m := readTrim(filepath.Join(dir, "device", "model"))
	if vendor == "" || vendor == "ATA" || strings.HasPrefix(m, vendor) {
		return m
	}
	return strings.TrimSpace(vendor + " " + m)
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// DiskOf returns the whole disk a partition (kernel name, e.g. sda2 or
// nvme0n1p2) lies on: sysfs/class/block/PART links into its disk's
// folder.
func DiskOf(sysfs, part string) (string, error) {
	link, err := filepath.EvalSymlinks(filepath.Join(sysfs, "class", "block", part))
	if err != nil {
		return "", fmt.Errorf("find the disk of %s: %w", part, err)
	}
	if _, err := os.Stat(filepath.Join(link, "partition")); err != nil {
		return "", fmt.Errorf("%s is not a partition", part)
	}
	return filepath.Base(filepath.Dir(link)), nil
}

// Errors Check returns, so callers can tell them apart.
var (
	ErrBootDisk = errors.New("the box runs from this disk")
	ErrTooSmall = errors.New("the disk is too small")
	ErrReadOnly = errors.New("the disk is read-only")
)

// Check refuses a disk the box cannot install onto, saying why in the
// operator's words: the disk it runs from, one smaller than need bytes,
// or one the kernel holds read-only.
func Check(d Disk, need int64) error {
	switch {
	case d.Boot:
		return fmt.Errorf("%s: %w: pick the internal disk, not the stick the box booted from", d.Name, ErrBootDisk)
	case d.Size < need:
		return fmt.Errorf("%s: %w: it holds %s, the box needs at least %s", d.Name, ErrTooSmall, humanSize(d.Size), humanSize(need))
	case d.ReadOnly:
		return fmt.Errorf("%s: %w (a write-protect switch?)", d.Name, ErrReadOnly)
	}
	return nil
}
