package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// TestStoreOnFullDisk saves on a small tmpfs filled to the last byte: the
// save fails with ErrPermFull in plain words, leaves no partial files, and
// the generation saved before still loads; with space again, saves work.
// Root: it mounts the tmpfs.
func TestStoreOnFullDisk(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0755"); err != nil {
		t.Fatalf("mount a small tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	s, err := OpenStore(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	first := mustSave(t, s, withHostname("before-full"))

	fill := filepath.Join(dir, "fill")
	f, err := os.Create(fill)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	for { // the last few bytes too
		if _, err := f.Write(buf[:1]); err != nil {
			break
		}
	}
	f.Close()
	before := dirNames(t, s.Dir)

	_, err = s.Save(withHostname("on-full-disk"))
	if !errors.Is(err, ErrPermFull) || !strings.Contains(err.Error(), "nothing was saved") {
		t.Fatalf("save on a full disk: %v, want ErrPermFull saying nothing was saved", err)
	}
	if after := dirNames(t, s.Dir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("a failed save left files: before %v, after %v", before, after)
	}
	c, info, err := s.Load()
	if err != nil || c.System.Hostname != "before-full" || info.Seq != first {
		t.Errorf("after the failed save: generation %d %q (%v), want %d before-full", info.Seq, c.System.Hostname, err, first)
	}

	os.Remove(fill)
	if n := mustSave(t, s, withHostname("after-full")); n != first+1 {
		t.Errorf("with space again the save made generation %d, want %d", n, first+1)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
