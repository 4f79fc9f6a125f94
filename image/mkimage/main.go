// Command mkimage builds Tunneler's boot artifacts for one board, without
// root and without loop devices:
//
//	build/BOARD/vmlinuz      the board's kernel (board/*/kernel: Debian's
//	                         linux-source, drivers built in), for direct boot
//	build/BOARD/initrd       u-root initramfs (zstd): our init as PID 1
//	                         and mke2fs; no kernel modules
//	build/BOARD/disk.img     raw GPT disk: ESP (systemd-boot for UEFI,
//	                         syslinux for BIOS, slots a and b) + /perm
//	build/BOARD/disk.qcow2   the same disk as compressed qcow2
//	build/BOARD/disk.vmdk    the same disk as stream-optimised VMDK
//	build/BOARD/tunneler.ova that VMDK with an OVF (1 vCPU, 512 MiB,
//	                         WAN and LAN NICs, serial port, EFI)
//	build/BOARD/disk.vhdx    the same disk as dynamic VHDX (Hyper-V gen 2)
//	build/BOARD/disk.img.zst the raw disk zstd-compressed, for USB sticks,
//	                         with disk.img.zst.sha256
//	build/BOARD/tunneler-VERSION.update   the slot's parts as a signed
//	                         update bundle (appliance/update)
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
	updateOnly := flag.Bool("update-only", false, "build only the update bundle, in BUILD/update-BOARD (tests: a second version of the same tree)")
	testBreak := flag.String("test-break", "", "with -update-only, for the rollback tests only: build a firmware that is broken on purpose (charon: never starts charon)")
	flag.Parse()

	if *testBreak != "" && (*testBreak != "charon" || !*updateOnly) {
		fmt.Fprintf(os.Stderr, "mkimage: -test-break %q: only \"charon\", and only with -update-only (no image ships broken)\n", *testBreak)
		os.Exit(2)
	}
	if err := run(*boardName, *buildDir, *version, *updateOnly, *testBreak); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(1)
	}
}

func run(boardName, buildDir, version string, updateOnly bool, testBreak string) error {
	start := time.Now()
	prof, err := board.Load(boardName)
	if err != nil {
		return err
	}
	if err := checkTools(); err != nil {
		return err
	}
	key, keyPath, err := loadUpdateKey()
	if err != nil {
		return err
	}
	out := filepath.Join(buildDir, boardName)
	if updateOnly {
		out = filepath.Join(buildDir, "update-"+boardName)
	}
	b := &builder{
		board:         prof,
		version:       version,
		cache:         filepath.Join(buildDir, "cache"),
		out:           out,
		steps:         12,
		updateKey:     key,
		updateKeyPath: keyPath,
		testBreak:     testBreak,
	}
	for _, d := range []string{b.cache, b.out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("make build folder: %w", err)
		}
	}
	steps := []func() error{
		b.boardKernel,
		b.buildInit,
		b.buildInitramfs,
		b.buildExtras,
		b.buildBundle,
		b.buildESP,
		b.buildDisk,
		b.buildQcow2,
		b.buildVMDK,
		b.buildOVA,
		b.buildVHDX,
		b.buildZst,
	}
	if updateOnly {
		steps = steps[:5]
		b.steps = 5
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	if updateOnly {
		fmt.Printf("mkimage: %s update bundle ready: %s (%.1fs)\n", boardName, filepath.Join(b.out, b.bundleName()), time.Since(start).Seconds())
		return nil
	}
	fmt.Printf("mkimage: %s image ready in %s (%.1fs)\n", boardName, b.out, time.Since(start).Seconds())
	return b.writeManifest()
}
