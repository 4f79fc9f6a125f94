// Package slot mounts what the running boot slot carries besides the kernel
// and initramfs: the ESP read-only at /boot, and the slot's extras.sqfs (the
// big programs: charon, the ziti router) read-only at /usr through a loop
// device. Programs there are page cache the kernel can drop under memory
// pressure, unlike files in the initramfs.
package slot

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Name returns the slot to use for a boot: the ESP slot the boot loader
// started (tunneler.slot=a|b), or a for a direct kernel boot.
func Name(cmdlineSlot string) string {
	if cmdlineSlot == "a" || cmdlineSlot == "b" {
		return cmdlineSlot
	}
	return "a"
}

// MountESP mounts the EFI system partition read-only at dir.
func MountESP(device, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(device, dir, "vfat", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "umask=0077"); err != nil {
		return fmt.Errorf("mount ESP %s on %s: %w", device, dir, err)
	}
	return nil
}

// MountExtras attaches espDir/SLOT/extras.sqfs to a free loop device
// (read-only, freed when unmounted) and mounts it at target.
func MountExtras(espDir, slot, target string) error {
	image := filepath.Join(espDir, slot, "extras.sqfs")
	dev, loop, err := attachLoop(image)
	if err != nil {
		return err
	}
	// Autoclear frees the loop device at its last close: keep it open
	// until the mount holds it.
	defer loop.Close()
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(dev, target, "squashfs", unix.MS_RDONLY|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", image, dev, target, err)
	}
	return nil
}

// attachLoop binds file to a free loop device, read-only with autoclear,
// and returns the device still open.
func attachLoop(file string) (string, *os.File, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", file, err)
	}
	defer f.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open loop-control (is the loop module loaded?): %w", err)
	}
	defer ctl.Close()
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		return "", nil, fmt.Errorf("get a free loop device: %w", err)
	}
	dev := fmt.Sprintf("/dev/loop%d", n)
	lf, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", dev, err)
	}
	cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
	cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY | unix.LO_FLAGS_AUTOCLEAR
	copy(cfg.Info.File_name[:], file)
	if err := unix.IoctlLoopConfigure(int(lf.Fd()), &cfg); err != nil {
		lf.Close()
		return "", nil, fmt.Errorf("attach %s to %s: %w", file, dev, err)
	}
	return dev, lf, nil
}

// FromDisk tells whether a boot loader on a disk started the kernel
// (tunneler.slot=a|b): that disk, with /perm, exists even while it is still
// appearing. A direct kernel boot (qemu -kernel) has no such disk.
func FromDisk(cmdlineSlot string) bool {
	return cmdlineSlot == "a" || cmdlineSlot == "b"
}
