package vmtest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PermImage copies the VM's /perm partition out of its overlay disk into a
// raw file the test can check with e2fsck or read with debugfs. Call it
// once qemu has ended.
func (vm *VM) PermImage(t testing.TB) string {
	t.Helper()
	if !vm.Exited() {
		t.Fatal("PermImage: qemu is still running; its disk is not settled")
	}
	const mib = 1 << 20
	m := vm.Image.Manifest
	out := filepath.Join(vm.dir, "perm.raw")
	// qemu-img dd counts skipped blocks in count, unlike dd(1).
	cmd := exec.Command("qemu-img", "dd", "-f", "qcow2", "-O", "raw", "bs=1M",
		fmt.Sprintf("skip=%d", m.PermOffset/mib), fmt.Sprintf("count=%d", (m.PermOffset+m.PermSize)/mib),
		"if="+vm.Disk, "of="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy /perm out of %s: %v\n%s", vm.Disk, err, b)
	}
	return out
}

// CheckPermClean fails the test unless the /perm filesystem is consistent
// and was unmounted cleanly (no journal to replay).
func CheckPermClean(t testing.TB, image string) {
	t.Helper()
	if b, err := exec.Command("e2fsck", "-f", "-n", image).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn /perm: %v\n%s", err, b)
	}
	b, err := exec.Command("dumpe2fs", "-h", image).CombinedOutput()
	if err != nil {
		t.Fatalf("dumpe2fs -h /perm: %v\n%s", err, b)
	}
	hdr := string(b)
	if !strings.Contains(hdr, "Filesystem state:         clean") {
		t.Errorf("/perm was not left clean:\n%s", grepLine(hdr, "Filesystem state"))
	}
	if strings.Contains(grepLine(hdr, "Filesystem features"), "needs_recovery") {
		t.Errorf("/perm journal needs recovery: it was not unmounted")
	}
}

// ReadPermFile returns a file's contents from a /perm image.
func ReadPermFile(t testing.TB, image, path string) string {
	t.Helper()
	b, err := exec.Command("debugfs", "-R", "cat "+path, image).Output()
	if err != nil {
		t.Fatalf("debugfs cat %s: %v", path, err)
	}
	return string(b)
}

func grepLine(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
