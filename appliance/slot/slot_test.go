package slot

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
	"golang.org/x/sys/unix"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{"a": "a", "b": "b", "direct": "a", "": "a", "c": "a"} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFromDisk(t *testing.T) {
	for in, want := range map[string]bool{"a": true, "b": true, "direct": false, "": false, "c": false} {
		if got := FromDisk(in); got != want {
			t.Errorf("FromDisk(%q) = %v, want %v", in, got, want)
		}
	}
}

// The squashfs a slot carries mounts read-only through a loop device.
func TestMountExtras(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "mksquashfs")
	esp := t.TempDir()
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "bin", "hello"), []byte("hi\n"), 0o755)
	os.MkdirAll(filepath.Join(esp, "a"), 0o755)
	if out, err := exec.Command("mksquashfs", src, filepath.Join(esp, "a", "extras.sqfs"), "-comp", "zstd", "-quiet", "-no-progress").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	exec.Command("modprobe", "loop").Run()
	exec.Command("modprobe", "squashfs").Run()
	target := t.TempDir()
	if err := MountExtras(esp, "a", target); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(target, 0)
	data, err := os.ReadFile(filepath.Join(target, "bin", "hello"))
	if err != nil || string(data) != "hi\n" {
		t.Fatalf("read through the mount: %q, %v", data, err)
	}
	if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644); err == nil {
		t.Error("the extras mount is writable")
	}
}
