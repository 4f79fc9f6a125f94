package perm

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// TestFillLeavesNoSpace: after Fill not one more byte fits, and Unfill
// gives the space back. Root: it mounts a small tmpfs.
func TestFillLeavesNoSpace(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Fatalf("mount a small tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	n, err := Fill(dir)
	if err != nil || n < 3<<20 {
		t.Fatalf("Fill: %d bytes, %v; want about 4 MiB", n, err)
	}
	err = os.WriteFile(filepath.Join(dir, "one-more"), []byte("x"), 0o600)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("a write after Fill: %v, want ENOSPC", err)
	}
	if err := Unfill(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "one-more"), []byte("x"), 0o600); err != nil {
		t.Errorf("a write after Unfill: %v", err)
	}
	if err := Unfill(dir); err != nil {
		t.Errorf("Unfill with nothing to remove: %v", err)
	}
}
