package supervise

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// TestLogFileOnFullDisk: on a disk something else filled, a service's log
// keeps going, because its rotation frees the old file's space, and stays
// within its bound; writes that cannot fit fail with an error, never a
// crash. Root: it mounts a small tmpfs.
func TestLogFileOnFullDisk(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=128k,mode=0755"); err != nil {
		t.Fatalf("mount a small tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	path := filepath.Join(dir, "svc.log")
	const limit = 16 << 10
	l, err := openLogFile(path, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	line := func(i int) LogLine {
		return LogLine{Time: time.Now(), Stream: "stdout", Text: fmt.Sprintf("line %05d %s", i, strings.Repeat("x", 60))}
	}
	i := 0
	for ; i < 400; i++ { // about 40 KiB: the log has rotated once at least
		if err := l.write(line(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("no rotated log before the disk fills: %v", err)
	}

	// Something else fills the disk to the last byte.
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for buf := make([]byte, 4096); ; {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	for {
		if _, err := f.Write([]byte{0}); err != nil {
			break
		}
	}
	f.Close()

	failed := 0
	for end := i + 600; i < end; i++ {
		if err := l.write(line(i)); err != nil {
			failed++
		}
	}
	t.Logf("on the full disk: %d of 600 lines could not be written", failed)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := line(i-1).Text + "\n"; !strings.HasSuffix(string(b), want) {
		t.Errorf("the log does not end with the last line written on the full disk:\n...%s", b[max(0, len(b)-200):])
	}
	for _, p := range []string{path, path + ".1"} {
		if fi, err := os.Stat(p); err != nil || fi.Size() > limit {
			t.Errorf("%s: %v, size over %d", p, err, limit)
		}
	}
}
