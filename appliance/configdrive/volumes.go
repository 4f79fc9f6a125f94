package configdrive

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tunneler/tunneler/appliance/perm"
	"golang.org/x/sys/unix"
)

// labels mark a config drive: cloud-init's NoCloud volume (cidata, which
// tools write in either case) and OpenStack's config drive (config-2).
var labels = []string{"cidata", "config-2"}

// Volume is a block device holding an ISO 9660 or FAT filesystem.
type Volume struct {
	Name     string // kernel name: sr0, vdb, sdb1
	Device   string // /dev/NAME
	FSType   string // ISO9660 or VFAT
	Label    string
	ReadOnly bool // the kernel says so: a CD-ROM, a write-protected stick
}

// Labelled says the volume carries a config drive's label.
func (v Volume) Labelled() bool {
	for _, l := range labels {
		if strings.EqualFold(v.Label, l) {
			return true
		}
	}
	return false
}

// String names the volume as the console says it.
func (v Volume) String() string {
	if v.Labelled() {
		return fmt.Sprintf("the config drive %s (%s)", v.Label, v.Name)
	}
	return fmt.Sprintf("the %s volume %s", v.FSType, v.Name)
}

// Writable says whether the box could write to the volume at all: a FAT
// volume on a device the kernel does not hold read-only.
func (v Volume) Writable() bool { return v.FSType == VFAT && !v.ReadOnly }

// Find lists the ISO 9660 and FAT volumes among the block devices in
// sysfs (devDir holds their nodes), config drives first, then by name.
// Any partition named ESP is left out: it is a Tunneler boot partition
// (this box's, or one on a disk the box was installed to), read by
// package provision and never a config drive.
func Find(sysfs, devDir string) []Volume {
	var vols []Volume
	for _, d := range perm.BlockDevices(sysfs) {
		if d.PartName == perm.ESPName || virtualDevice(d.Name) {
			continue
		}
		v, ok := probeDevice(filepath.Join(devDir, d.Name))
		if !ok {
			continue
		}
		v.Name, v.Device = d.Name, filepath.Join(devDir, d.Name)
		ro, _ := os.ReadFile(filepath.Join(d.Dir, "ro"))
		v.ReadOnly = strings.TrimSpace(string(ro)) == "1"
		vols = append(vols, v)
	}
	sort.SliceStable(vols, func(i, j int) bool {
		if vols[i].Labelled() != vols[j].Labelled() {
			return vols[i].Labelled()
		}
		return vols[i].Name < vols[j].Name
	})
	return vols
}

// virtualDevice: loop devices (the slot's extras), RAM disks and
// device-mapper targets are the box's own, never a drive someone attached.
func virtualDevice(name string) bool {
	for _, p := range []string{"loop", "ram", "zram", "dm-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// probeDevice reads the device's superblock; an empty CD-ROM drive fails
// to read and is skipped. O_NONBLOCK: opening a CD-ROM drive otherwise
// closes its tray (the kernel's cdrom autoclose).
func probeDevice(path string) (Volume, bool) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return Volume{}, false
	}
	defer f.Close()
	fstype, label, ok := Probe(f)
	return Volume{FSType: fstype, Label: label}, ok
}
