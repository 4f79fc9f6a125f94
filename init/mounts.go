package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mount is one entry of the base mount table (boot step 1).
type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	optional               bool // efivarfs exists only on UEFI
}

var baseMounts = []mount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755", false},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=620,ptmxmode=000", false},
	{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777", false},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755", false},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777", false},
	{"efivarfs", "/sys/firmware/efi/efivars", "efivarfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", true},
}

// mountBase mounts the pseudo filesystems everything else needs. It goes on
// past failures and returns them, since a box with a console is better than
// none.
func mountBase() []error {
	var errs []error
	for _, m := range baseMounts {
		if m.optional {
			if _, err := os.Stat(m.target); err != nil {
				continue
			}
		}
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("make %s: %w", m.target, err))
			continue
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil && err != unix.EBUSY {
			if !m.optional {
				errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err))
			}
		}
	}
	for _, d := range []string{"/perm", "/boot", "/var", "/etc", "/bin"} {
		os.MkdirAll(d, 0o755)
	}
	// Programs expect /var/run and /var/tmp; both live in RAM.
	os.Symlink("/run", "/var/run")
	os.Symlink("/tmp", "/var/tmp")
	return errs
}
