package configdrive

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
)

// Filesystem types a config drive may carry, as mount(2) names them.
const (
	ISO9660 = "iso9660"
	VFAT    = "vfat"
)

// Probe reads the superblock of the volume r: its filesystem type and
// label, or ok false when it is neither an ISO 9660 nor a FAT volume.
// It reads two sectors; no filesystem code runs.
func Probe(r io.ReaderAt) (fstype, label string, ok bool) {
	if label, ok := isoVolumeID(r); ok {
		return ISO9660, label, true
	}
	if label, ok := fatLabel(r); ok {
		return VFAT, label, true
	}
	return "", "", false
}

// isoVolumeID reads the Primary Volume Descriptor (ECMA-119 §8.4): the
// first descriptor at sector 16 of 2048 bytes, type 1, "CD001", and the
// volume identifier (genisoimage -V, xorriso -volid) at bytes 40-71.
func isoVolumeID(r io.ReaderAt) (string, bool) {
	pvd := make([]byte, 2048)
	if _, err := r.ReadAt(pvd, 16*2048); err != nil {
		return "", false
	}
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" || pvd[6] != 1 {
		return "", false
	}
	return strings.TrimRight(string(pvd[40:72]), " \x00"), true
}

// fatLabel reads a FAT boot sector (Microsoft's FAT specification): a
// jump, a sane BIOS parameter block, and the extended boot signature 0x29
// before the volume label; FAT32 keeps it 28 bytes further on. mkfs.fat -n
// and mlabel write the label here (and in the root directory). A partition
// table (MBR, GPT's protective MBR) has no BPB and no "FAT" type string, so
// a whole disk is not taken for a FAT volume.
func fatLabel(r io.ReaderAt) (string, bool) {
	bs := make([]byte, 512)
	if _, err := r.ReadAt(bs, 0); err != nil {
		return "", false
	}
	if bs[510] != 0x55 || bs[511] != 0xaa || (bs[0] != 0xeb && bs[0] != 0xe9) {
		return "", false
	}
	bytesPerSector := binary.LittleEndian.Uint16(bs[11:13])
	sectorsPerCluster := bs[13]
	fats := bs[16]
	if bytesPerSector < 512 || bytesPerSector > 4096 || bytesPerSector&(bytesPerSector-1) != 0 ||
		sectorsPerCluster == 0 || sectorsPerCluster&(sectorsPerCluster-1) != 0 || fats == 0 || fats > 2 {
		return "", false
	}
	var sig byte
	var label []byte
	switch {
	case bytes.HasPrefix(bs[82:90], []byte("FAT32")):
		sig, label = bs[66], bs[71:82]
	case bytes.HasPrefix(bs[54:62], []byte("FAT")):
		sig, label = bs[38], bs[43:54]
	default:
		return "", false
	}
	if sig != 0x29 {
		return "", true // a FAT volume without a label field
	}
	l := strings.TrimRight(string(label), " \x00")
	if l == "NO NAME" {
		l = ""
	}
	return l, true
}
