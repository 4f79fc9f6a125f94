package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tunneler/tunneler/board"
)

// boardKernel takes the board's kernel (board/KERNELDIR/vmlinuz, built by
// `make kernel` from Debian's linux-source with every driver built in):
// it must match its stamp and have every driver the board lists, since
// the image carries no modules to make up for one that is missing.
func (b *builder) boardKernel() error {
	dir := filepath.Join("board", b.board.KernelDir)
	src := filepath.Join(dir, "vmlinuz")
	builtin := filepath.Join(dir, "vmlinuz.builtin")
	dst := filepath.Join(b.out, "vmlinuz")
	release, err := kernelRelease(src)
	if err != nil {
		return fmt.Errorf("board %s kernel: %w (run make kernel)", b.board.Name, err)
	}
	b.kernelVersion = release
	inputs := []string{src, builtin, filepath.Join(dir, "vmlinuz.stamp")}
	return b.step("kernel "+release+" ("+dir+")", inputs, strings.Join(b.board.Drivers, ","), []string{dst}, func() error {
		if err := sh(filepath.Join(dir, "build.sh"), "--check"); err != nil {
			return fmt.Errorf("%s does not match its config (run make kernel): %w", src, err)
		}
		list, err := os.ReadFile(builtin)
		if err != nil {
			return fmt.Errorf("read the kernel's built-in drivers: %w", err)
		}
		if missing := board.MissingDrivers(b.board.Drivers, string(list)); len(missing) > 0 {
			return fmt.Errorf("board %s lists drivers its kernel does not have built in: %s (add them to %s/config)",
				b.board.Name, strings.Join(missing, ", "), dir)
		}
		if err := copyFile(src, dst+".new", 0o644); err != nil {
			return fmt.Errorf("copy kernel: %w", err)
		}
		return os.Rename(dst+".new", dst)
	})
}

// kernelRelease reads the release (uname -r) from a bzImage's setup
// header: kernel_version at 0x20e points to a string, 0x200 bytes after
// the start of the setup code.
func kernelRelease(bzImage string) (string, error) {
	f, err := os.Open(bzImage)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 0x4000)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if len(head) < 0x210 || string(head[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("%s is not a bzImage (no HdrS setup header)", bzImage)
	}
	off := int(binary.LittleEndian.Uint16(head[0x20e:])) + 0x200
	if off >= len(head) {
		return "", fmt.Errorf("%s: kernel_version offset %#x out of range", bzImage, off)
	}
	s := head[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	fields := strings.Fields(string(s))
	if len(fields) == 0 {
		return "", fmt.Errorf("%s: empty kernel_version", bzImage)
	}
	return fields[0], nil
}
