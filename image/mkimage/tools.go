package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// tool is a program the build runs, and the Debian package that has it.
type tool struct{ name, pkg string }

var buildTools = []tool{
	{"apt-get", "apt"},
	{"dpkg-deb", "dpkg"},
	{"zstd", "zstd"},
	{"mkfs.fat", "dosfstools"},
	{"mcopy", "mtools"},
	{"mmd", "mtools"},
	{"syslinux", "syslinux"},
	{"sfdisk", "fdisk"},
	{"qemu-img", "qemu-utils"},
	{"mksquashfs", "squashfs-tools"},
	{"ldd", "libc-bin"},
	{"go", "golang (Go 1.24 or newer at /usr/local/go)"},
}

var buildFiles = []tool{
	{"/usr/lib/syslinux/mbr/gptmbr.bin", "syslinux-common"},
	{"/usr/lib/systemd/boot/efi/systemd-bootx64.efi", "systemd-boot-efi"},
	{"/usr/sbin/mke2fs", "e2fsprogs"},
}

// checkTools says, all at once, which programs and files the build lacks.
// Debian keeps depmod, mkfs.fat and sfdisk in /usr/sbin, which is not on an
// ordinary user's PATH: the build runs without root, so it looks there too.
func checkTools() error {
	addSbinToPath()
	var missing []string
	for _, t := range buildTools {
		if _, err := exec.LookPath(t.name); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", t.name, t.pkg))
		}
	}
	for _, f := range buildFiles {
		if _, err := os.Stat(f.name); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", f.name, f.pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the build needs:\n  %s\nrun: sudo scripts/install-deps", strings.Join(missing, "\n  "))
	}
	return nil
}

// addSbinToPath appends the sbin directories PATH lacks.
func addSbinToPath() {
	path := os.Getenv("PATH")
	have := map[string]bool{}
	for _, d := range filepath.SplitList(path) {
		have[d] = true
	}
	for _, d := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin"} {
		if !have[d] {
			path += string(os.PathListSeparator) + d
		}
	}
	os.Setenv("PATH", path)
}

// sh runs a command, returning its output in the error when it fails.
func sh(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// output runs a command and returns its standard output.
func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, ee.Stderr)
		}
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return string(out), nil
}
