package install

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tunneler/tunneler/appliance/perm"
	"github.com/tunneler/tunneler/appliance/provision"
	"golang.org/x/sys/unix"
)

// Installer installs the running box onto another disk of the machine.
type Installer struct {
	Sysfs  string // /sys
	DevDir string // /dev
	// BootPart is the kernel name of a partition on the disk the box
	// booted from (the ESP or /perm it mounted).
	BootPart string
	// EFIVars is efivarfs under UEFI, "" under BIOS (no boot entries).
	EFIVars string
	// Backup writes the config and /perm's files as an encrypted backup
	// (control.Owner.Backup); it fails when there is no config yet.
	// nil: nothing is carried across.
	Backup func(w io.Writer, passphrase string) error
	// MountESP mounts a FAT partition read-write at dir for fn
	// (provision.ESP).
	MountESP func(device, dir string, fn func(dir string) error) error
	// ESPDir is where the new disk's ESP is mounted while the backup is
	// written.
	ESPDir string
}

// Disks lists the machine's disks, the boot disk marked, and the size a
// disk needs to take the box.
func (in *Installer) Disks() ([]Disk, int64, error) {
	boot, err := DiskOf(in.Sysfs, in.BootPart)
	if err != nil {
		return nil, 0, err
	}
	l, err := in.layout(boot)
	if err != nil {
		return nil, 0, err
	}
	disks, err := List(in.Sysfs, boot)
	return disks, l.Need(), err
}

func (in *Installer) layout(boot string) (Layout, error) {
	f, err := os.Open(filepath.Join(in.DevDir, boot))
	if err != nil {
		return Layout{}, fmt.Errorf("open the boot disk: %w", err)
	}
	defer f.Close()
	return ReadLayout(f)
}

// Install writes the box onto target, reporting each step on w and the
// copy's progress to progress. target must come from Disks; it is checked
// again here.
func (in *Installer) Install(ctx context.Context, target Disk, w io.Writer, progress Progress) error {
	boot, err := DiskOf(in.Sysfs, in.BootPart)
	if err != nil {
		return err
	}
	target.Boot = target.Name == boot
	src, err := os.Open(filepath.Join(in.DevDir, boot))
	if err != nil {
		return fmt.Errorf("open the boot disk: %w", err)
	}
	defer src.Close()
	l, err := ReadLayout(src)
	if err != nil {
		return err
	}
	if err := Check(target, l.Need()); err != nil {
		return err
	}
	// O_EXCL: the kernel refuses a disk that is mounted or in use.
	dst, err := os.OpenFile(target.Device, os.O_RDWR|unix.O_EXCL, 0)
	if err != nil {
		return fmt.Errorf("open %s for writing (is it in use?): %w", target.Device, err)
	}
	defer dst.Close()

	fmt.Fprintf(w, "Writing the boot loader and the firmware to %s ...\n", target.Name)
	esp, err := Write(ctx, src, dst, target.Size, l, progress)
	if err != nil {
		return err
	}
	// Make the kernel read the new partitions, so the ESP can be mounted.
	if err := unix.IoctlSetInt(int(dst.Fd()), unix.BLKRRPART, 0); err != nil {
		fmt.Fprintf(w, "The kernel did not re-read %s's partitions (%v); the config is not carried across.\n", target.Name, err)
		return in.bootEntry(w, esp)
	}
	dst.Close()
	if err := in.carryConfig(w, target); err != nil {
		fmt.Fprintf(w, "The config was NOT carried across: %v\n", err)
	}
	return in.bootEntry(w, esp)
}

// carryConfig puts the box's config and /perm's files on the new disk's
// ESP as tunneler-backup, with a one-time passphrase in
// tunneler-backup.pass beside it: its first boot restores them and erases
// the passphrase (provision.RunBackup). A box still in setup mode has
// nothing to carry.
func (in *Installer) carryConfig(w io.Writer, target Disk) error {
	if in.Backup == nil || in.MountESP == nil {
		return nil
	}
	part, err := partitionNamed(in.Sysfs, target.Name, perm.ESPName)
	if err != nil {
		return err
	}
	key := make([]byte, 24)
	rand.Read(key)
	pass := hex.EncodeToString(key)
	return in.MountESP(filepath.Join(in.DevDir, part), in.ESPDir, func(dir string) error {
		f, err := os.OpenFile(filepath.Join(dir, provision.BackupName), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if err := in.Backup(f, pass); err != nil {
			f.Close()
			os.Remove(filepath.Join(dir, provision.BackupName))
			if errors.Is(err, ErrNothingToCarry) {
				fmt.Fprintf(w, "No config saved yet: the new disk starts in setup mode.\n")
				return nil
			}
			return fmt.Errorf("make the backup: %w", err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, provision.BackupPassName), []byte(pass+"\n"), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(w, "The config and the router's identity were copied across; the new disk restores them at its first boot.\n")
		return nil
	})
}

// ErrNothingToCarry is what Backup returns when the box has no config.
var ErrNothingToCarry = errors.New("no config saved yet")

func (in *Installer) bootEntry(w io.Writer, esp Partition) error {
	if in.EFIVars == "" {
		fmt.Fprintf(w, "Booted by BIOS: set the internal disk first in the firmware's boot order if it is not.\n")
		return nil
	}
	num, err := AddBootEntry(in.EFIVars, "Tunneler", esp)
	if err != nil {
		fmt.Fprintf(w, "No UEFI boot entry (%v): the firmware finds the disk's boot loader once the stick is out.\n", err)
		return nil
	}
	fmt.Fprintf(w, "UEFI boot entry Boot%04X (Tunneler) added, first in the boot order.\n", num)
	return nil
}

// partitionNamed finds the partition of disk with the GPT name want.
func partitionNamed(sysfs, disk, want string) (string, error) {
	uevents, _ := filepath.Glob(filepath.Join(sysfs, "block", disk, disk+"*", "uevent"))
	for _, ue := range uevents {
		data, err := os.ReadFile(ue)
		if err != nil {
			continue
		}
		if strings.Contains(string(data), "\nPARTNAME="+want+"\n") || strings.HasPrefix(string(data), "PARTNAME="+want+"\n") {
			return filepath.Base(filepath.Dir(ue)), nil
		}
	}
	return "", fmt.Errorf("%s has no partition named %s after writing", disk, want)
}
