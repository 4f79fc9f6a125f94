package perm

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProbe(t *testing.T) {
	ext4 := make([]byte, 4096)
	binary.LittleEndian.PutUint16(ext4[ext4MagicOffset:], ext4Magic)
	blank := make([]byte, 4096)
	copy(blank, BlankMarker)
	garbage := bytes.Repeat([]byte{0xde, 0xad}, 2048)
	for _, tc := range []struct {
		name string
		data []byte
		want State
	}{
		{"blank marker", blank, Blank},
		{"ext4", ext4, Formatted},
		{"zeros (wiped)", make([]byte, 4096), Unknown},
		{"garbage", garbage, Unknown},
		{"short device", []byte("x"), Unknown},
	} {
		got, err := Probe(bytes.NewReader(tc.data))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: Probe = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestFindByPartitionName(t *testing.T) {
	sysfs := t.TempDir()
	for name, ue := range map[string]string{
		"vda":  "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n",
		"vda1": "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\nPARTNAME=ESP\n",
		"vda2": "MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\nPARTN=2\nPARTNAME=perm\n",
	} {
		d := filepath.Join(sysfs, "class", "block", name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "uevent"), []byte(ue), 0o644)
	}
	p, err := Find(sysfs, PartitionName)
	if err != nil || p.Device != "/dev/vda2" {
		t.Fatalf("Find = %+v, %v; want /dev/vda2", p, err)
	}
	if _, err := Find(sysfs, "nope"); err == nil {
		t.Fatal("Find of a missing name succeeded")
	}
}

func TestBootRecord(t *testing.T) {
	dir := t.TempDir()
	r, err := RecordBoot(dir)
	if err != nil || r.Boots != 1 || !r.LastClean {
		t.Fatalf("first boot: %+v, %v", r, err)
	}
	// Power cut: no RecordCleanShutdown.
	r, _ = RecordBoot(dir)
	if r.Boots != 2 || r.LastClean {
		t.Fatalf("after a power cut: %+v, want boot 2 and not clean", r)
	}
	if err := RecordCleanShutdown(dir); err != nil {
		t.Fatal(err)
	}
	r, _ = RecordBoot(dir)
	if r.Boots != 3 || !r.LastClean {
		t.Fatalf("after a clean shutdown: %+v", r)
	}
	os.WriteFile(filepath.Join(dir, bootRecordFile), []byte("{torn"), 0o600)
	r, err = RecordBoot(dir)
	if err != nil || r.Boots != 1 {
		t.Fatalf("torn record: %+v, %v; want a fresh count", r, err)
	}
}

func TestBlockDevices(t *testing.T) {
	sysfs := t.TempDir()
	for name, ue := range map[string]string{
		"sr0":  "MAJOR=11\nMINOR=0\nDEVNAME=sr0\nDEVTYPE=disk\n",
		"vda1": "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\nPARTNAME=ESP\n",
		"odd":  "MAJOR=1\nMINOR=1\n", // no DEVNAME: left out
	} {
		d := filepath.Join(sysfs, "class", "block", name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "uevent"), []byte(ue), 0o644)
	}
	os.MkdirAll(filepath.Join(sysfs, "class", "block", "nouevent"), 0o755) // unreadable: left out
	block := filepath.Join(sysfs, "class", "block")
	want := []BlockDevice{
		{Name: "sr0", Dir: filepath.Join(block, "sr0")},
		{Name: "vda1", PartName: "ESP", Dir: filepath.Join(block, "vda1")},
	}
	if diff := cmp.Diff(want, BlockDevices(sysfs)); diff != "" {
		t.Errorf("BlockDevices (-want +got):\n%s", diff)
	}
}
