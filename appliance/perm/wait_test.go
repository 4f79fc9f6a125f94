package perm

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fakeEvents adds the partition to sysfs at its nth Wait, as the kernel
// would after a USB disk is scanned, and counts the waits.
type fakeEvents struct {
	sysfs  string
	addAt  int // 0: never
	waits  int
	closed bool
}

func (f *fakeEvents) Wait(deadline time.Time) bool {
	f.waits++
	if f.waits == f.addAt {
		addPartition(f.sysfs, "sdb2", "perm")
		return true
	}
	if f.addAt == 0 && f.waits > 3 {
		return false // the deadline
	}
	return true // another block device (the disk, its ESP)
}

func (f *fakeEvents) Close() error { f.closed = true; return nil }

func addPartition(sysfs, dev, name string) {
	d := filepath.Join(sysfs, "class", "block", dev)
	os.MkdirAll(d, 0o755)
	os.WriteFile(filepath.Join(d, "uevent"), []byte("DEVNAME="+dev+"\nDEVTYPE=partition\nPARTNAME="+name+"\n"), 0o644)
}

func TestWaitFind(t *testing.T) {
	for _, tc := range []struct {
		name      string
		present   bool
		timeout   time.Duration
		addAt     int
		want      string
		wantWaits int
	}{
		{name: "already there", present: true, timeout: DiskWait, want: "/dev/vda2"},
		{name: "direct boot without a disk: one look", timeout: 0, addAt: 1, wantWaits: 0},
		{name: "USB disk appears at the third event", timeout: DiskWait, addAt: 3, want: "/dev/sdb2", wantWaits: 3},
		{name: "disk boot, never appears", timeout: DiskWait, wantWaits: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sysfs := t.TempDir()
			if tc.present {
				addPartition(sysfs, "vda2", PartitionName)
			}
			ev := &fakeEvents{sysfs: sysfs, addAt: tc.addAt}
			p, err := WaitFind(sysfs, PartitionName, tc.timeout, ev)
			if tc.want == "" && err == nil {
				t.Fatalf("WaitFind found %+v, want none", p)
			}
			if tc.want != "" && (err != nil || p.Device != tc.want) {
				t.Fatalf("WaitFind = %+v, %v; want %s", p, err, tc.want)
			}
			if ev.waits != tc.wantWaits {
				t.Errorf("waited for %d events, want %d", ev.waits, tc.wantWaits)
			}
		})
	}
}

func TestBlockAdded(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"add@/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda2\x00ACTION=add\x00DEVPATH=/devices/x\x00SUBSYSTEM=block\x00DEVNAME=vda2\x00DEVTYPE=partition\x00PARTNAME=perm\x00", true},
		{"change@/devices/x/block/sdb\x00ACTION=change\x00SUBSYSTEM=block\x00DEVNAME=sdb\x00", true},
		{"add@/devices/x/net/eth0\x00ACTION=add\x00SUBSYSTEM=net\x00INTERFACE=eth0\x00", false},
		{"remove@/devices/x/block/sdb\x00ACTION=remove\x00SUBSYSTEM=block\x00", false},
		{"", false},
	} {
		if got := BlockAdded([]byte(tc.msg)); got != tc.want {
			t.Errorf("BlockAdded(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

// The real socket: as any user, listening works and a wait that sees no
// block device added (other tests may add loop devices) ends at its deadline.
func TestBlockEventsDeadline(t *testing.T) {
	ev, err := ListenBlockEvents()
	if err != nil {
		t.Fatalf("ListenBlockEvents: %v", err)
	}
	defer ev.Close()
	start := time.Now()
	added := ev.Wait(start.Add(50 * time.Millisecond))
	if d := time.Since(start); !added && (d < 40*time.Millisecond || d > 2*time.Second) {
		t.Errorf("Wait returned after %v, want ~50ms", d)
	}
}
