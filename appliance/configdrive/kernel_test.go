package configdrive

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// The kernel mounts real images, as the box mounts the drive: an ISO
// read-only, and a FAT drive writable only to erase the file once asked.
// Root only (loop devices), and only where this machine's kernel has
// both filesystems: the kernel these images are built on has neither, so
// there the system test (TestConfigDrive) is what mounts a real drive.
func TestKernelMount(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "losetup", "mdir")
	fss, _ := os.ReadFile("/proc/filesystems")
	for _, fs := range []string{ISO9660, VFAT} {
		if !strings.Contains(string(fss), "\t"+fs+"\n") {
			// Not testenv.Skip: no package install gives the host kernel
			// a filesystem; make test must not fail for it.
			t.Skipf("this machine's kernel has no %s filesystem (/proc/filesystems)", fs)
		}
	}
	loop := func(img string) string {
		out, err := exec.Command("losetup", "--find", "--show", img).Output()
		if err != nil {
			t.Fatalf("losetup %s: %v", img, err)
		}
		dev := strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
		return dev
	}
	iso := makeISO(t, "cidata", map[string]string{"user-data": userDataKey, "meta-data": "instance-id: t\n"})
	fat := makeVFAT(t, 2, 12, "CIDATA", map[string]string{"tunneler.json": goodJSON, "tunneler.erase": "yes"})
	for _, tc := range []struct {
		name, img, file string
		removed         bool
	}{
		{"iso user-data", iso, "user-data", false},
		{"fat erased", fat, "tunneler.json", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := loop(tc.img)
			v, ok := probeDevice(dev)
			if !ok || !v.Labelled() {
				t.Fatalf("%s: probe = %+v, %v", dev, v, ok)
			}
			v.Name, v.Device = filepath.Base(dev), dev
			store := openStore(t)
			r := Run([]Volume{v}, KernelMounter{}, filepath.Join(t.TempDir(), "mnt"), store)
			if !r.Imported || r.File != tc.file || r.Removed != tc.removed || r.Err != nil {
				t.Fatalf("Run = %+v\n%s", r, strings.Join(r.Lines(), "\n"))
			}
		})
	}
	// The FAT drive no longer holds the file nor the request.
	out, err := exec.Command("mdir", "-b", "-i", fat, "::/").CombinedOutput()
	if err != nil {
		t.Fatalf("mdir: %v\n%s", err, out)
	}
	if strings.Contains(strings.ToLower(string(out)), "tunneler") {
		t.Errorf("the FAT drive still holds:\n%s", out)
	}
}
