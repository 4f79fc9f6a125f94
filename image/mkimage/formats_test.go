package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/scripts/testenv"
)

// ovfEnvelope is the part of an OVF the tests read back; encoding/xml
// matches the local names, so the structure is checked, not the text.
type ovfEnvelope struct {
	XMLName    xml.Name `xml:"http://schemas.dmtf.org/ovf/envelope/1 Envelope"`
	References []struct {
		ID   string `xml:"id,attr"`
		Href string `xml:"href,attr"`
		Size int64  `xml:"size,attr"`
	} `xml:"References>File"`
	Disks []struct {
		ID       string `xml:"diskId,attr"`
		FileRef  string `xml:"fileRef,attr"`
		Capacity int64  `xml:"capacity,attr"`
		Format   string `xml:"format,attr"`
	} `xml:"DiskSection>Disk"`
	Networks []struct {
		Name string `xml:"name,attr"`
	} `xml:"NetworkSection>Network"`
	System struct {
		Name       string `xml:"Name"`
		Annotation string `xml:"AnnotationSection>Annotation"`
		Items      []struct {
			Required     string `xml:"required,attr"`
			ResourceType int    `xml:"ResourceType"`
			SubType      string `xml:"ResourceSubType"`
			Quantity     int    `xml:"VirtualQuantity"`
			Units        string `xml:"AllocationUnits"`
			Connection   string `xml:"Connection"`
			ElementName  string `xml:"ElementName"`
			HostResource string `xml:"HostResource"`
			InstanceID   string `xml:"InstanceID"`
			Parent       string `xml:"Parent"`
		} `xml:"VirtualHardwareSection>Item"`
		Config []struct {
			Key   string `xml:"key,attr"`
			Value string `xml:"value,attr"`
		} `xml:"VirtualHardwareSection>Config"`
	} `xml:"VirtualSystem"`
}

// CIM resource types (DSP1041) the OVF uses.
const (
	rtCPU    = 3
	rtMemory = 4
	rtNIC    = 10
	rtDisk   = 17
	rtSATA   = 20
	rtSerial = 21
)

func testVM() vmSpec {
	b := &builder{version: `v1.2-3-g<abc>&"x"`}
	vm := b.vmSpec()
	vm.DiskFileSize = 12345
	return vm
}

func TestOVFDescribesTheVM(t *testing.T) {
	vm := testVM()
	data, err := renderOVF(vm)
	if err != nil {
		t.Fatal(err)
	}
	var env ovfEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		t.Fatalf("the OVF is not XML: %v\n%s", err, data)
	}
	byType := map[int][]int{}
	ids := map[string]bool{}
	for i, it := range env.System.Items {
		byType[it.ResourceType] = append(byType[it.ResourceType], i)
		if ids[it.InstanceID] {
			t.Errorf("InstanceID %s used twice", it.InstanceID)
		}
		ids[it.InstanceID] = true
	}
	item := func(rt int) int {
		t.Helper()
		if len(byType[rt]) != 1 {
			t.Fatalf("want one item of resource type %d, got %d", rt, len(byType[rt]))
		}
		return byType[rt][0]
	}
	items := env.System.Items

	if cpu := items[item(rtCPU)]; cpu.Quantity != 1 {
		t.Errorf("vCPUs = %d, want 1", cpu.Quantity)
	}
	if mem := items[item(rtMemory)]; mem.Quantity != 512 || mem.Units != "byte * 2^20" {
		t.Errorf("memory = %d %q, want 512 MiB", mem.Quantity, mem.Units)
	}

	var nics [][2]string
	for _, i := range byType[rtNIC] {
		nics = append(nics, [2]string{items[i].ElementName, items[i].Connection})
		if items[i].SubType != "E1000" {
			t.Errorf("NIC %s is %q; the generic board has a driver for E1000 only", items[i].ElementName, items[i].SubType)
		}
	}
	if d := cmp.Diff([][2]string{{"WAN", "WAN"}, {"LAN", "LAN"}}, nics); d != "" {
		t.Errorf("NICs (name, network) differ, WAN first (-want +got)\n%s", d)
	}
	var nets []string
	for _, n := range env.Networks {
		nets = append(nets, n.Name)
	}
	if d := cmp.Diff([]string{"WAN", "LAN"}, nets); d != "" {
		t.Errorf("NetworkSection differs (-want +got)\n%s", d)
	}

	if serial := items[item(rtSerial)]; serial.Required != "false" {
		t.Errorf("serial port required=%q: an importer without serial ports must still take the OVA", serial.Required)
	}

	// The disk item hangs off the SATA controller and names the disk,
	// which names the file, which is the VMDK.
	sata, disk := items[item(rtSATA)], items[item(rtDisk)]
	if disk.Parent != sata.InstanceID || sata.SubType != "vmware.sata.ahci" {
		t.Errorf("disk parent %q, SATA controller %q (%q)", disk.Parent, sata.InstanceID, sata.SubType)
	}
	if len(env.Disks) != 1 || disk.HostResource != "ovf:/disk/"+env.Disks[0].ID {
		t.Fatalf("disk item %q does not name the one disk %+v", disk.HostResource, env.Disks)
	}
	if len(env.References) != 1 || env.Disks[0].FileRef != env.References[0].ID {
		t.Fatalf("disk %+v does not name the one file %+v", env.Disks[0], env.References)
	}
	if f := env.References[0]; f.Href != vmdkName || f.Size != 12345 {
		t.Errorf("file = %+v, want %s of 12345 bytes", f, vmdkName)
	}
	if c := env.Disks[0].Capacity; c != diskSize {
		t.Errorf("disk capacity %d, want %d", c, diskSize)
	}
	if !strings.HasSuffix(env.Disks[0].Format, "#streamOptimized") {
		t.Errorf("disk format %q, want stream-optimised VMDK", env.Disks[0].Format)
	}

	config := map[string]string{}
	for _, c := range env.System.Config {
		config[c.Key] = c.Value
	}
	if config["firmware"] != "efi" || config["bootOptions.efiSecureBootEnabled"] != "false" {
		t.Errorf("firmware config %v, want EFI without Secure Boot", config)
	}
	for _, want := range []string{vm.Version, "EFI", "BIOS", "Secure Boot off", "NIC 1 is WAN"} {
		if !strings.Contains(env.System.Annotation, want) {
			t.Errorf("annotation lacks %q:\n%s", want, env.System.Annotation)
		}
	}
}

func TestOVAHasOVFFirstAndMatchingManifest(t *testing.T) {
	dir := t.TempDir()
	vmdk := filepath.Join(dir, vmdkName)
	disk := make([]byte, 100_000)
	rand.Read(disk)
	if err := os.WriteFile(vmdk, disk, 0o644); err != nil {
		t.Fatal(err)
	}
	ova := filepath.Join(dir, ovaName)
	if err := writeOVA(ova, testVM(), vmdk); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(ova)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	members := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the OVA is not a tar: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg || strings.Contains(hdr.Name, "/") {
			t.Errorf("member %q (type %c): want plain files at the top", hdr.Name, hdr.Typeflag)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		members[hdr.Name] = body
	}
	if d := cmp.Diff([]string{ovfName, vmdkName, mfName}, names); d != "" {
		t.Fatalf("OVA members differ: the OVF must come first, the manifest last (-want +got)\n%s", d)
	}
	if !bytes.Equal(members[vmdkName], disk) {
		t.Error("the VMDK in the OVA is not the VMDK given")
	}
	var env ovfEnvelope
	if err := xml.Unmarshal(members[ovfName], &env); err != nil {
		t.Fatalf("OVF: %v", err)
	}
	if len(env.References) != 1 || env.References[0].Size != int64(len(disk)) {
		t.Errorf("OVF file references %+v, want the VMDK's %d bytes", env.References, len(disk))
	}

	line := regexp.MustCompile(`^SHA256\(([^)]+)\)= ([0-9a-f]{64})$`)
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(string(members[mfName]), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("manifest line %q is not SHA256(name)= hex", l)
		}
		got[m[1]] = m[2]
	}
	want := map[string]string{}
	for _, n := range []string{ovfName, vmdkName} {
		sum := sha256.Sum256(members[n])
		want[n] = hex.EncodeToString(sum[:])
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("manifest sums differ from the members' (-want +got)\n%s", d)
	}
}

// qemuImgInfo is the part of `qemu-img info --output=json` the test reads.
type qemuImgInfo struct {
	Format         string `json:"format"`
	VirtualSize    int64  `json:"virtual-size"`
	FormatSpecific struct {
		Data struct {
			CreateType string `json:"create-type"`
		} `json:"data"`
	} `json:"format-specific"`
}

// The converted disks are checked by qemu-img itself: it reads each as
// its format and subformat, finds no errors, and converts it back to the
// same bytes.
func TestConvertedDisksAreValid(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		testenv.Skip(t, "qemu-img (Debian qemu-utils) is not installed")
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.img")
	// Large enough that a dynamic VHDX's fixed overhead (~8 MiB of
	// headers, log and BAT) leaves it smaller than the disk; mostly
	// zeros, as the real disk is.
	data := make([]byte, 64<<20)
	rand.Read(data[:1<<20])
	copy(data[40<<20:], "the /perm marker")
	if err := os.WriteFile(raw, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, format, options string
		check                 func(t *testing.T, info qemuImgInfo, fileSize int64)
	}{
		{vmdkName, "vmdk", "subformat=streamOptimized", func(t *testing.T, info qemuImgInfo, _ int64) {
			if info.FormatSpecific.Data.CreateType != "streamOptimized" {
				t.Errorf("VMDK create-type %q, want streamOptimized", info.FormatSpecific.Data.CreateType)
			}
		}},
		{vhdxName, "vhdx", "subformat=dynamic", func(t *testing.T, info qemuImgInfo, fileSize int64) {
			// qemu-img info does not name the VHDX subformat; a fixed
			// VHDX is at least as large as its disk, a dynamic one not.
			if fileSize >= info.VirtualSize {
				t.Errorf("VHDX is %d bytes for a %d-byte disk: not dynamic", fileSize, info.VirtualSize)
			}
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			img := filepath.Join(dir, tc.name)
			if err := qemuConvert(raw, img, tc.format, tc.options); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("qemu-img", "info", "--output=json", img).Output()
			if err != nil {
				t.Fatalf("qemu-img info: %v", err)
			}
			var info qemuImgInfo
			if err := json.Unmarshal(out, &info); err != nil {
				t.Fatalf("qemu-img info: %v\n%s", err, out)
			}
			if info.Format != tc.format || info.VirtualSize != int64(len(data)) {
				t.Errorf("qemu-img reads %s of %d bytes, want %s of %d", info.Format, info.VirtualSize, tc.format, len(data))
			}
			fi, err := os.Stat(img)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, info, fi.Size())
			if out, err := exec.Command("qemu-img", "check", "-f", tc.format, img).CombinedOutput(); err != nil {
				t.Errorf("qemu-img check: %v\n%s", err, out)
			}
			back := filepath.Join(dir, tc.format+".raw")
			if err := sh("qemu-img", "convert", "-f", tc.format, "-O", "raw", img, back); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, data) {
				t.Errorf("converted back, the disk differs (err %v)", err)
			}
		})
	}
}

// The compressed raw image decompresses to the disk, its .sha256 is what
// sha256sum -c reads, and a second build with the disk unchanged leaves it
// alone.
func TestZstImageAndItsSum(t *testing.T) {
	for _, tool := range []string{"zstd", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, tool+" is not installed")
		}
	}
	b := &builder{out: t.TempDir(), steps: 2}
	data := make([]byte, 4<<20)
	rand.Read(data[:64<<10])
	if err := os.WriteFile(filepath.Join(b.out, "disk.img"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.buildZst(); err != nil {
		t.Fatal(err)
	}
	zst := filepath.Join(b.out, zstName)
	out, err := exec.Command("zstd", "-d", "-c", zst).Output()
	if err != nil || !bytes.Equal(out, data) {
		t.Fatalf("zstd -d does not give back the disk (err %v, %d bytes)", err, len(out))
	}
	check := exec.Command("sha256sum", "-c", zstSum)
	check.Dir = b.out
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c %s: %v\n%s", zstSum, err, out)
	}

	before, err := os.Stat(zst)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := b.buildZst(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(zst)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("a second build with the disk unchanged rewrote disk.img.zst")
	}
}
