package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

// The files `make image` wrote, checked with tools no one here wrote:
// qemu-img reads each disk as its format and subformat and finds it equal
// to disk.img, tar lists the OVA with its OVF first, and sha256sum -c
// accepts the OVA's manifest and the .zst's sum file. The unit tests
// above check the same on small disks; this checks what ships. Booting
// the VMDK and the VHDX converted back to raw is in systest (the BIOS and
// UEFI boot tests).
func TestBuiltArtifacts(t *testing.T) {
	testenv.RequireCommand(t, "qemu-img", "tar", "sha256sum")
	im := vmtest.LoadImage(t)
	raw := im.Raw()
	st, err := os.Stat(raw)
	if err != nil {
		t.Fatal(err)
	}
	rawSize := st.Size()

	for _, tc := range []struct{ file, format, createType string }{
		{vmdkName, "vmdk", "streamOptimized"},
		{vhdxName, "vhdx", ""}, // qemu-img names no VHDX subformat: the size says it
	} {
		t.Run(tc.format, func(t *testing.T) {
			img := filepath.Join(im.Dir, tc.file)
			out, err := exec.Command("qemu-img", "info", "--output=json", img).Output()
			if err != nil {
				t.Fatalf("qemu-img info %s: %v", tc.file, err)
			}
			var info qemuImgInfo
			if err := json.Unmarshal(out, &info); err != nil {
				t.Fatalf("qemu-img info: %v\n%s", err, out)
			}
			if info.Format != tc.format || info.VirtualSize != rawSize {
				t.Errorf("qemu-img reads %s as %s of %d bytes, want %s of %d", tc.file, info.Format, info.VirtualSize, tc.format, rawSize)
			}
			if got := info.FormatSpecific.Data.CreateType; got != tc.createType {
				t.Errorf("%s create-type %q, want %q", tc.file, got, tc.createType)
			}
			if fi, err := os.Stat(img); err != nil || fi.Size() >= rawSize {
				t.Errorf("%s is not smaller than the raw disk (%v): not compressed or not dynamic", tc.file, err)
			}
			if out, err := exec.Command("qemu-img", "check", "-f", tc.format, img).CombinedOutput(); err != nil {
				t.Errorf("qemu-img check %s: %v\n%s", tc.file, err, out)
			}
			// Converted back, the disk is disk.img byte for byte.
			if out, err := exec.Command("qemu-img", "compare", "-q", "-f", tc.format, "-F", "raw", img, raw).CombinedOutput(); err != nil {
				t.Errorf("qemu-img compare %s disk.img: %v\n%s", tc.file, err, out)
			}
		})
	}

	t.Run("ova", func(t *testing.T) {
		ova := filepath.Join(im.Dir, ovaName)
		list, err := exec.Command("tar", "-tf", ova).Output()
		if err != nil {
			t.Fatalf("tar -tf %s: %v", ovaName, err)
		}
		if d := cmp.Diff([]string{ovfName, vmdkName, mfName}, strings.Fields(string(list))); d != "" {
			t.Fatalf("tar lists the OVA differently: OVF first, manifest last (-want +got)\n%s", d)
		}
		dir := t.TempDir()
		if out, err := exec.Command("tar", "-xf", ova, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("tar -xf: %v\n%s", err, out)
		}
		check := exec.Command("sha256sum", "-c", mfName)
		check.Dir = dir
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c %s: %v\n%s", mfName, err, out)
		}
		data, err := os.ReadFile(filepath.Join(dir, ovfName))
		if err != nil {
			t.Fatal(err)
		}
		var env ovfEnvelope
		if err := xml.Unmarshal(data, &env); err != nil {
			t.Fatalf("%s: %v", ovfName, err)
		}
		vmdk, err := os.Stat(filepath.Join(dir, vmdkName))
		if err != nil {
			t.Fatal(err)
		}
		if len(env.References) != 1 || env.References[0].Href != vmdkName || env.References[0].Size != vmdk.Size() {
			t.Errorf("the OVF names %+v, want %s of %d bytes", env.References, vmdkName, vmdk.Size())
		}
		if len(env.Disks) != 1 || env.Disks[0].Capacity != rawSize {
			t.Errorf("the OVF's disks %+v, want one of %d bytes", env.Disks, rawSize)
		}
		if out, err := exec.Command("cmp", filepath.Join(dir, vmdkName), filepath.Join(im.Dir, vmdkName)).CombinedOutput(); err != nil {
			t.Errorf("the OVA's VMDK is not disk.vmdk: %v\n%s", err, out)
		}
	})

	t.Run("zst", func(t *testing.T) {
		check := exec.Command("sha256sum", "-c", zstSum)
		check.Dir = im.Dir
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c %s: %v\n%s", zstSum, err, out)
		}
	})
}
