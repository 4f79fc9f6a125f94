package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// initPackage is the Go package of PID 1, relative to the module root.
const initPackage = "./init"

// buildInit compiles our init: static, stripped, reproducible. Go's own
// cache makes this quick when nothing changed; the file is only replaced
// when its bytes change, so later steps see no change either.
func (b *builder) buildInit() error {
	b.n++
	prefix := fmt.Sprintf("[%d/%d] init (go build %s)", b.n, b.steps, initPackage)
	fmt.Printf("%s ...\n", prefix)
	tmp := filepath.Join(b.out, "tunneler.new")
	ldflags := "-s -w -X main.version=" + b.version + " -X main.updateKey=" + publicKeyFlag(b.updateKey)
	if b.testBreak != "" {
		ldflags += " -X main.testBreak=" + b.testBreak
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", tmp, initPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", initPackage, err, out)
	}
	dst := filepath.Join(b.out, "tunneler")
	if same(tmp, dst) {
		os.Remove(tmp)
		fmt.Printf("%s: up to date\n", prefix)
		return nil
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	fmt.Printf("%s: done\n", prefix)
	return nil
}

func same(a, b string) bool {
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// initramfsFiles are host files the image carries, with the shared
// libraries u-root finds for them (ldd). mke2fs makes /perm on first boot.
var initramfsFiles = []string{
	"/usr/sbin/mke2fs:sbin/mke2fs",
	// glibc programs abort at exit without libgcc_s, which pthread_cancel
	// dlopens and ldd does not see (DESIGN.md pitfalls).
	"/usr/lib/x86_64-linux-gnu/libgcc_s.so.1:lib/x86_64-linux-gnu/libgcc_s.so.1",
}

// buildInitramfs packs init and the host files with u-root,
// then compresses the archive with zstd (fast to unpack under TCG).
func (b *builder) buildInitramfs() error {
	uroot := filepath.Join(filepath.Dir(b.cache), "bin", "u-root")
	cpio := filepath.Join(b.out, "initramfs.cpio")
	initrd := filepath.Join(b.out, "initrd")
	inputs := []string{filepath.Join(b.out, "tunneler")}
	for _, f := range initramfsFiles {
		inputs = append(inputs, f[:bytes.IndexByte([]byte(f), ':')])
	}
	return b.step("initramfs (u-root, zstd)", inputs, "v2", []string{initrd}, func() error {
		if _, err := os.Stat(uroot); err != nil {
			fmt.Println("      building the u-root tool (once) ...")
			if err := sh("go", "build", "-o", uroot, "github.com/u-root/u-root"); err != nil {
				return err
			}
		}
		args := []string{"-nocmd", "-base=/dev/null", "-initcmd=", "-uinitcmd=", "-defaultsh=",
			"-o", cpio,
			"-files", filepath.Join(b.out, "tunneler") + ":init",
		}
		for _, f := range initramfsFiles {
			args = append(args, "-files", f)
		}
		if err := sh(uroot, args...); err != nil {
			return err
		}
		// Write beside and rename: a VM booting the old initrd while this
		// runs must never read a half-written file.
		if err := sh("zstd", "-q", "-f", "-19", "-T0", cpio, "-o", initrd+".new"); err != nil {
			return err
		}
		if err := os.Rename(initrd+".new", initrd); err != nil {
			return err
		}
		return os.Remove(cpio)
	})
}
