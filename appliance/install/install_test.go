package install

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/efivar"
	"github.com/tunneler/tunneler/appliance/perm"
	"github.com/tunneler/tunneler/scripts/testenv"
)

const mib = 1 << 20

// stick makes a disk laid out as image/mkimage lays out disk.img, small:
// a GPT with the ESP (2 MiB at 1 MiB) and perm (4 MiB), the ESP's bytes
// random, the live /perm's bytes marked.
func stick(t *testing.T) (path string, esp []byte) {
	t.Helper()
	testenv.RequireCommand(t, "sfdisk")
	path = filepath.Join(t.TempDir(), "stick.img")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(path, 8*mib)
	sfdisk(t, path, "label: gpt\nstart=2048, size=4096, type=U, name=ESP\nstart=6144, size=8192, type=L, name=perm\n")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	esp = make([]byte, 2*mib)
	rand.Read(esp)
	f.WriteAt(esp, 1*mib)
	f.WriteAt(bytes.Repeat([]byte("LIVE-PERM "), 1000), 3*mib)
	f.WriteAt([]byte("boot code of gptmbr.bin"), 0)
	return path, esp
}

func sfdisk(t *testing.T, path, script string) {
	t.Helper()
	cmd := exec.Command("sfdisk", "-q", path)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
}

// sfdiskTable is what `sfdisk --json` says of a disk.
type sfdiskTable struct {
	PartitionTable struct {
		ID         string `json:"id"`
		LastLBA    int64  `json:"lastlba"`
		Partitions []struct {
			Start int64  `json:"start"`
			Size  int64  `json:"size"`
			Name  string `json:"name"`
			UUID  string `json:"uuid"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func readTable(t *testing.T, path string) sfdiskTable {
	t.Helper()
	out, err := exec.Command("sfdisk", "--json", path).Output()
	if err != nil {
		t.Fatalf("sfdisk --json %s: %v", path, err)
	}
	var tab sfdiskTable
	if err := json.Unmarshal(out, &tab); err != nil {
		t.Fatal(err)
	}
	return tab
}

// The stick is copied onto a larger disk: boot code and ESP byte for
// byte, a blank /perm over whatever the disk held, and a GPT for the new
// size with new GUIDs that sfdisk (util-linux) finds sound.
func TestWrite(t *testing.T) {
	src, esp := stick(t)
	dstPath := filepath.Join(t.TempDir(), "internal.img")
	os.WriteFile(dstPath, nil, 0o644)
	const size = 64 * mib
	os.Truncate(dstPath, size)
	dst, err := os.OpenFile(dstPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	// An old ext4 filesystem where the new /perm goes: it must not survive.
	old := make([]byte, 2048)
	binary.LittleEndian.PutUint16(old[1024+56:], 0xef53)
	dst.WriteAt(old, 3*mib)

	s, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := ReadLayout(s)
	if err != nil {
		t.Fatal(err)
	}
	if l.PermStart != 3*mib || l.Need() != 7*mib+33*512 {
		t.Errorf("layout: perm at %d, need %d", l.PermStart, l.Need())
	}
	var last, total int64
	got, err := Write(context.Background(), s, dst, size, l, func(done, tot int64) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		last, total = done, tot
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != total || total == 0 {
		t.Errorf("progress ended at %d of %d", last, total)
	}

	if out, err := exec.Command("sfdisk", "--verify", dstPath).CombinedOutput(); err != nil {
		t.Errorf("sfdisk --verify: %v\n%s", err, out)
	}
	was, now := readTable(t, src), readTable(t, dstPath)
	if now.PartitionTable.LastLBA != size/512-34 {
		t.Errorf("last usable LBA %d, want %d: the GPT does not fit the new disk", now.PartitionTable.LastLBA, size/512-34)
	}
	if now.PartitionTable.ID == was.PartitionTable.ID {
		t.Errorf("the disk GUID is the stick's: %s", now.PartitionTable.ID)
	}
	if len(now.PartitionTable.Partitions) != 2 {
		t.Fatalf("partitions: %+v", now.PartitionTable.Partitions)
	}
	for i, p := range now.PartitionTable.Partitions {
		w := was.PartitionTable.Partitions[i]
		if p.Start != w.Start || p.Size != w.Size || p.Name != w.Name || p.UUID == w.UUID {
			t.Errorf("partition %d: %+v, the stick's %+v: want the same place and name, a new GUID", i+1, p, w)
		}
	}
	if want := strings.ToUpper(now.PartitionTable.Partitions[0].UUID); guidString(got.GUID) != want || got.Number != 1 || got.FirstLBA != 2048 || got.Sectors != 4096 {
		t.Errorf("ESP returned %+v (%s), want partition 1 at 2048, 4096 sectors, %s", got, guidString(got.GUID), want)
	}

	disk, _ := os.ReadFile(dstPath)
	if !bytes.Equal(disk[1*mib:3*mib], esp) {
		t.Error("the ESP differs from the stick's")
	}
	if !bytes.HasPrefix(disk, []byte("boot code of gptmbr.bin")) {
		t.Error("the MBR's boot code is not the stick's")
	}
	if state, err := perm.Probe(bytes.NewReader(disk[3*mib:])); state != perm.Blank || err != nil {
		t.Errorf("/perm is %s (%v), want blank", state, err)
	}
	if bytes.Contains(disk, []byte("LIVE-PERM")) {
		t.Error("the live /perm was copied")
	}
}

// guidString formats an on-disk GUID as sfdisk prints it.
func guidString(b [16]byte) string {
	return strings.ToUpper(hex.EncodeToString([]byte{b[3], b[2], b[1], b[0]}) + "-" + hex.EncodeToString([]byte{b[5], b[4]}) + "-" +
		hex.EncodeToString([]byte{b[7], b[6]}) + "-" + hex.EncodeToString(b[8:10]) + "-" + hex.EncodeToString(b[10:]))
}

// fileTarget is a disk that takes every write.
type fileTarget struct{}

func (*fileTarget) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }
func (*fileTarget) Sync() error                              { return nil }

func TestWriteRefuses(t *testing.T) {
	src, _ := stick(t)
	s, _ := os.Open(src)
	defer s.Close()
	l, err := ReadLayout(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), s, &fileTarget{}, 6*mib, l, nil); !errors.Is(err, ErrTooSmall) {
		t.Errorf("a 6 MiB disk: %v, want too small", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, s, &fileTarget{}, 64*mib, l, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := ReadLayout(bytes.NewReader(make([]byte, 1*mib))); err == nil || !strings.Contains(err.Error(), "GPT") {
		t.Errorf("a disk without a GPT: %v", err)
	}
}

func TestCheck(t *testing.T) {
	const need = 440 * mib
	for _, tc := range []struct {
		name string
		disk Disk
		err  error
		text string
	}{
		{"fits", Disk{Name: "sda", Size: 64 << 30}, nil, ""},
		{"boot disk", Disk{Name: "sdb", Size: 16 << 30, Boot: true}, ErrBootDisk, "sdb: the box runs from this disk: pick the internal disk"},
		{"too small", Disk{Name: "vdb", Size: 100 * mib}, ErrTooSmall, "vdb: the disk is too small: it holds 100 MiB, the box needs at least 440 MiB"},
		{"read-only", Disk{Name: "mmcblk0", Size: 8 << 30, ReadOnly: true}, ErrReadOnly, "mmcblk0: the disk is read-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.disk, need)
			if !errors.Is(err, tc.err) || tc.err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Check = %v, want %v (%q)", err, tc.err, tc.text)
			}
		})
	}
}

func TestListAndDiskOf(t *testing.T) {
	sys := t.TempDir()
	disk := func(name, size, removable, ro, vendor, model string, parts ...string) {
		dir := filepath.Join(sys, "devices", "pci", name)
		for f, v := range map[string]string{"size": size, "removable": removable, "ro": ro, "device/vendor": vendor, "device/model": model} {
			if v == "" {
				continue
			}
			os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
			os.WriteFile(filepath.Join(dir, f), []byte(v+"\n"), 0o644)
		}
		os.MkdirAll(filepath.Join(sys, "block"), 0o755)
		os.MkdirAll(filepath.Join(sys, "class", "block"), 0o755)
		os.Symlink(dir, filepath.Join(sys, "block", name))
		os.Symlink(dir, filepath.Join(sys, "class", "block", name))
		for _, p := range parts {
			os.MkdirAll(filepath.Join(dir, p), 0o755)
			os.WriteFile(filepath.Join(dir, p, "partition"), []byte("1\n"), 0o644)
			os.Symlink(filepath.Join(dir, p), filepath.Join(sys, "class", "block", p))
		}
	}
	disk("sda", "31277232", "1", "0", "SanDisk", "Ultra", "sda1", "sda2")
	disk("nvme0n1", "250069680", "0", "0", "", "Samsung SSD 970 EVO Plus 250GB", "nvme0n1p1")
	disk("sr0", "2048", "1", "1", "QEMU", "QEMU DVD-ROM")
	disk("loop0", "1000", "0", "1", "", "")
	disk("sdb", "0", "1", "0", "Generic", "Card Reader")
	disk("vda", "2097152", "0", "0", "", "")

	boot, err := DiskOf(sys, "sda2")
	if err != nil || boot != "sda" {
		t.Fatalf("DiskOf(sda2) = %q, %v", boot, err)
	}
	if p, err := DiskOf(sys, "nvme0n1p1"); p != "nvme0n1" || err != nil {
		t.Errorf("DiskOf(nvme0n1p1) = %q, %v", p, err)
	}
	if _, err := DiskOf(sys, "vda"); err == nil {
		t.Error("DiskOf of a whole disk did not fail")
	}
	disks, err := List(sys, boot)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, d := range disks {
		lines = append(lines, d.String())
	}
	want := []string{
		"nvme0n1  119.2 GiB  Samsung SSD 970 EVO Plus 250GB",
		"sda       14.9 GiB  SanDisk Ultra  removable  <- the box runs from this disk",
		"vda        1.0 GiB  (no model)",
	}
	if d := cmp.Diff(want, lines); d != "" {
		t.Errorf("List (-want +got)\n%s", d)
	}
}

// The boot entry is an EFI_LOAD_OPTION the firmware reads: checked byte
// for byte against the UEFI specification's layout, and first in
// BootOrder ahead of the entries already there.
func TestAddBootEntry(t *testing.T) {
	dir := t.TempDir()
	efivar.Write(dir, "Boot0000-"+efivar.GlobalGUID, []byte("old"))
	efivar.Write(dir, "Boot0002-"+efivar.GlobalGUID, []byte("old"))
	efivar.Write(dir, "BootOrder-"+efivar.GlobalGUID, []byte{2, 0, 0, 0})
	p := Partition{Number: 1, FirstLBA: 2048, Sectors: 327680,
		GUID: [16]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}}
	num, err := AddBootEntry(dir, "T", p)
	if err != nil || num != 1 {
		t.Fatalf("AddBootEntry = %d, %v; want entry 1 (0 and 2 are taken)", num, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "Boot0001-"+efivar.GlobalGUID))
	if err != nil {
		t.Fatal(err)
	}
	path := hex.EncodeToString(efivar.UTF16(BootLoader))
	want := "07000000" + // NV, BS, RT
		"01000000" + // LOAD_OPTION_ACTIVE
		"5e00" + // FilePathListLength: 42 + (4 + 44) + 4
		"54000000" + // "T"
		"04012a00" + "01000000" + "0008000000000000" + "0000050000000000" + "112233445566778899aabbccddeeff00" + "0202" +
		"0404" + "3000" + path + // 21 characters and a NUL
		"7fff0400"
	if hex.EncodeToString(got) != want {
		t.Errorf("Boot0001 =\n%x\nwant\n%s", got, want)
	}
	order, _ := efivar.Read(dir, "BootOrder-"+efivar.GlobalGUID)
	if !bytes.Equal(order, []byte{1, 0, 2, 0, 0, 0}) {
		t.Errorf("BootOrder = %x, want 0001 0002 0000", order)
	}
}
