package configdrive

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// makeVFAT makes a FAT image of sizeMiB with mkfs.fat (fatBits 12, 16 or
// 32; label "" for none) holding files, copied in with mtools.
func makeVFAT(t *testing.T, sizeMiB, fatBits int, label string, files map[string]string) string {
	t.Helper()
	testenv.RequireCommand(t, "mkfs.fat", "mcopy")
	img := filepath.Join(t.TempDir(), "vfat.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, int64(sizeMiB)<<20); err != nil {
		t.Fatal(err)
	}
	args := []string{"-F", strconv.Itoa(fatBits)}
	if label != "" {
		args = append(args, "-n", label)
	}
	run(t, "mkfs.fat", append(args, img)...)
	src := t.TempDir()
	for name, data := range files {
		put(t, src, name, data)
		run(t, "mcopy", "-i", img, filepath.Join(src, name), "::/"+name)
	}
	return img
}

// makeISO makes an ISO 9660 image with Joliet and Rock Ridge names (as
// cloud-localds and every hypervisor's cloud-init drive do) holding files.
func makeISO(t *testing.T, volid string, files map[string]string) string {
	t.Helper()
	testenv.RequireCommand(t, "genisoimage")
	src := t.TempDir()
	for name, data := range files {
		put(t, src, name, data)
	}
	img := filepath.Join(t.TempDir(), "drive.iso")
	run(t, "genisoimage", "-quiet", "-output", img, "-volid", volid, "-joliet", "-rock", src)
	return img
}

func put(t *testing.T, dir, name, data string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func TestProbe(t *testing.T) {
	gpt := func(t *testing.T) string {
		testenv.RequireCommand(t, "sfdisk")
		img := filepath.Join(t.TempDir(), "gpt.img")
		os.WriteFile(img, nil, 0o644)
		os.Truncate(img, 8<<20)
		cmd := exec.Command("sfdisk", "-q", img)
		cmd.Stdin = strings.NewReader("label: gpt\nsize=4MiB, type=U, name=ESP\ntype=L\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sfdisk: %v\n%s", err, out)
		}
		return img
	}
	for _, tc := range []struct {
		name          string
		image         func(t *testing.T) string
		fstype, label string
		ok            bool
	}{
		{"iso cidata", func(t *testing.T) string {
			return makeISO(t, "cidata", map[string]string{"user-data": "#cloud-config\n"})
		}, ISO9660, "cidata", true},
		{"iso config-2", func(t *testing.T) string { return makeISO(t, "config-2", nil) }, ISO9660, "config-2", true},
		{"fat12 CIDATA", func(t *testing.T) string { return makeVFAT(t, 2, 12, "CIDATA", nil) }, VFAT, "CIDATA", true},
		{"fat16 lowercase cidata", func(t *testing.T) string { return makeVFAT(t, 20, 16, "cidata", nil) }, VFAT, "cidata", true},
		{"fat32 CIDATA", func(t *testing.T) string { return makeVFAT(t, 40, 32, "CIDATA", nil) }, VFAT, "CIDATA", true},
		{"fat without label", func(t *testing.T) string { return makeVFAT(t, 2, 12, "", nil) }, VFAT, "", true},
		{"gpt disk", gpt, "", "", false},
		{"zeros", func(t *testing.T) string {
			img := filepath.Join(t.TempDir(), "zeros")
			os.WriteFile(img, make([]byte, 64<<10), 0o644)
			return img
		}, "", "", false},
		{"too short", func(t *testing.T) string {
			img := filepath.Join(t.TempDir(), "short")
			os.WriteFile(img, []byte("x"), 0o644)
			return img
		}, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(tc.image(t))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fstype, label, ok := Probe(f)
			if fstype != tc.fstype || label != tc.label || ok != tc.ok {
				t.Errorf("Probe = %q, %q, %v; want %q, %q, %v", fstype, label, ok, tc.fstype, tc.label, tc.ok)
			}
		})
	}
}

// Find reads sysfs and the device nodes: config drives first, the ESP
// and the box's own loop devices left out, read-only from sysfs.
func TestFind(t *testing.T) {
	sys, dev := t.TempDir(), t.TempDir()
	add := func(name, partName, ro, image string) {
		dir := filepath.Join(sys, "class", "block", name)
		ue := "MAJOR=8\nDEVNAME=" + name + "\nDEVTYPE=disk\n"
		if partName != "" {
			ue += "PARTNAME=" + partName + "\n"
		}
		put(t, dir, "uevent", ue)
		put(t, dir, "ro", ro+"\n")
		if image != "" {
			data, err := os.ReadFile(image)
			if err != nil {
				t.Fatal(err)
			}
			put(t, dev, name, string(data))
		}
	}
	fat := makeVFAT(t, 2, 12, "", nil)
	add("vda1", "ESP", "0", makeVFAT(t, 2, 12, "ESP", nil))
	add("loop0", "", "1", fat)
	add("vdb", "", "0", fat)
	add("sr0", "", "1", makeISO(t, "CIDATA", nil))
	add("sr1", "", "1", "") // an empty CD-ROM drive: no node to open here
	add("vdc", "", "0", makeVFAT(t, 2, 12, "config-2", nil))

	var got []string
	for _, v := range Find(sys, dev) {
		got = append(got, strings.Join([]string{v.Name, v.FSType, v.Label, boolWord(v.ReadOnly), v.String()}, "|"))
	}
	want := []string{
		"sr0|iso9660|CIDATA|ro|the config drive CIDATA (sr0)",
		"vdc|vfat|config-2|rw|the config drive config-2 (vdc)",
		"vdb|vfat||rw|the vfat volume vdb",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Find =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func boolWord(ro bool) string {
	if ro {
		return "ro"
	}
	return "rw"
}
