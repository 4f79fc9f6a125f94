// Command mkimage builds Tunneler's boot artifacts for one board, without
// root and without loop devices:
//
//	build/BOARD/vmlinuz      Debian's kernel, for direct boot
//	build/BOARD/initrd       u-root initramfs (zstd): our init as PID 1,
//	                         the board's kernel modules with modules.dep
//	build/BOARD/disk.img     raw GPT disk: ESP (systemd-boot for UEFI,
//	                         syslinux for BIOS, slots a and b) + /perm
//	build/BOARD/disk.qcow2   the same disk as compressed qcow2
//
// Every step records a hash of its inputs next to its output and is skipped
// when they have not changed, so a rebuild with nothing changed takes seconds.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tunneler/tunneler/board"
)

func main() {
	boardName := flag.String("board", "generic", "board profile under board/")
	buildDir := flag.String("build", "build", "build folder (caches live here too)")
	version := flag.String("version", "dev", "version stamped into init and the banner")
	flag.Parse()

	if err := run(*boardName, *buildDir, *version); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(1)
	}
}

func run(boardName, buildDir, version string) error {
	start := time.Now()
	prof, err := board.Load(boardName)
	if err != nil {
		return err
	}
	if err := checkTools(); err != nil {
		return err
	}
	b := &builder{
		board:   prof,
		version: version,
		cache:   filepath.Join(buildDir, "cache"),
		out:     filepath.Join(buildDir, boardName),
		stage:   filepath.Join(buildDir, boardName, "stage"),
		steps:   8,
	}
	for _, d := range []string{b.cache, b.out, b.stage} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("make build folder: %w", err)
		}
	}
	for _, s := range []func() error{
		b.fetchKernel,
		b.stageModules,
		b.buildInit,
		b.buildInitramfs,
		b.buildExtras,
		b.buildESP,
		b.buildDisk,
		b.buildQcow2,
	} {
		if err := s(); err != nil {
			return err
		}
	}
	fmt.Printf("mkimage: %s image ready in %s (%.1fs)\n", boardName, b.out, time.Since(start).Seconds())
	return b.writeManifest()
}
