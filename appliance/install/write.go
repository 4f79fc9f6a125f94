package install

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/tunneler/tunneler/appliance/perm"
	"github.com/u-root/u-root/pkg/mount/gpt"
)

const sector = gpt.BlockSize

// backupGPTSectors is what the backup GPT takes at the disk's end: its
// header and 128 entries of 128 bytes.
const backupGPTSectors = 1 + 32

// Layout is where the image's parts lie on the disk the box booted from,
// read from its GPT.
type Layout struct {
	PermStart int64 // bytes: everything before is copied (MBR, GPT, ESP)
	PermSize  int64
	table     *gpt.PartitionTable
}

// Need is the smallest disk the image fits on: up to the end of /perm,
// and the backup GPT.
func (l Layout) Need() int64 { return l.PermStart + l.PermSize + backupGPTSectors*sector }

// ReadLayout reads the GPT of the boot disk: the partition named perm
// must be there (its start is where the copy ends).
func ReadLayout(r io.ReaderAt) (Layout, error) {
	mbr := &gpt.MBR{}
	if _, err := r.ReadAt(mbr[:], 0); err != nil {
		return Layout{}, fmt.Errorf("read the boot disk's MBR: %w", err)
	}
	primary, err := gpt.Table(r, gpt.HeaderOff)
	if err != nil {
		return Layout{}, fmt.Errorf("read the boot disk's GPT: %w", err)
	}
	for _, p := range primary.Parts {
		if partName(p.Name) == perm.PartitionName {
			return Layout{
				PermStart: int64(p.FirstLBA) * sector,
				PermSize:  int64(p.LastLBA-p.FirstLBA+1) * sector,
				table:     &gpt.PartitionTable{MasterBootRecord: mbr, Primary: primary},
			}, nil
		}
	}
	return Layout{}, fmt.Errorf("the boot disk has no partition named %q: not a Tunneler disk", perm.PartitionName)
}

func partName(n gpt.PartName) string {
	u := make([]uint16, len(n)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(n[2*i:])
	}
	return strings.TrimRight(string(utf16.Decode(u)), "\x00")
}

// Target is the disk written to.
type Target interface {
	io.WriterAt
	Sync() error
}

// Progress is told the bytes written so far and the total.
type Progress func(done, total int64)

// chunk is how much is copied between progress reports and checks of ctx.
const chunk = 1 << 20

// Write copies the boot disk src up to /perm onto dst (size bytes): the
// MBR's boot code, the GPT and the ESP with its slots and any file on it.
// /perm is not copied, it is in use: the new /perm starts blank, so the
// box makes its filesystem on first boot. The GPT is then laid out for
// dst's size (its backup at dst's end) with new GUIDs, so the stick and
// the disk are not taken for each other. It returns the new disk's ESP,
// for its UEFI boot entry.
func Write(ctx context.Context, src io.ReaderAt, dst Target, size int64, l Layout, progress Progress) (Partition, error) {
	if size < l.Need() {
		return Partition{}, fmt.Errorf("%w: %d bytes, the box needs %d", ErrTooSmall, size, l.Need())
	}
	total := l.PermStart + chunk
	buf := make([]byte, chunk)
	for off := int64(0); off < l.PermStart; off += chunk {
		if err := ctx.Err(); err != nil {
			return Partition{}, err
		}
		n := min(chunk, l.PermStart-off)
		if _, err := src.ReadAt(buf[:n], off); err != nil {
			return Partition{}, fmt.Errorf("read the boot disk at %d: %w", off, err)
		}
		if _, err := dst.WriteAt(buf[:n], off); err != nil {
			return Partition{}, fmt.Errorf("write the disk at %d: %w", off, err)
		}
		if progress != nil {
			progress(off+n, total)
		}
	}
	// A blank /perm: the marker, and zeros over any old filesystem's
	// superblock, so first boot formats it (perm.Probe).
	blank := make([]byte, chunk)
	copy(blank, perm.BlankMarker)
	if _, err := dst.WriteAt(blank, l.PermStart); err != nil {
		return Partition{}, fmt.Errorf("write the blank /perm: %w", err)
	}
	esp, err := writeTable(dst, size, l)
	if err != nil {
		return Partition{}, err
	}
	if err := dst.Sync(); err != nil {
		return Partition{}, fmt.Errorf("flush the disk: %w", err)
	}
	if progress != nil {
		progress(total, total)
	}
	return esp, nil
}

// writeTable writes the MBR and both GPTs for a disk of size bytes and
// returns the ESP as written.
func writeTable(dst io.WriterAt, size int64, l Layout) (Partition, error) {
	last := uint64(size/sector) - 1
	p := l.table.Primary
	primary := &gpt.GPT{Header: p.Header, Parts: append([]gpt.Part(nil), p.Parts...)}
	primary.CurrentLBA, primary.BackupLBA = 1, last
	primary.LastLBA = last - backupGPTSectors
	primary.DiskGUID = newGUID()
	for i := range primary.Parts {
		if primary.Parts[i].FirstLBA != 0 {
			primary.Parts[i].UniqueGUID = newGUID()
		}
	}
	backup := &gpt.GPT{Header: primary.Header, Parts: primary.Parts}
	backup.CurrentLBA, backup.BackupLBA = last, 1
	backup.PartStart = last - backupGPTSectors + 1

	mbr := *l.table.MasterBootRecord
	// The protective MBR entry covers the whole disk (or as much as 32
	// bits say); the boot code (gptmbr.bin) stays.
	binary.LittleEndian.PutUint32(mbr[446+12:], uint32(min(last, 0xffffffff)))
	if err := gpt.Write(dst, &gpt.PartitionTable{MasterBootRecord: &mbr, Primary: primary, Backup: backup}); err != nil {
		return Partition{}, fmt.Errorf("write the GPT: %w", err)
	}
	for i, p := range primary.Parts {
		if partName(p.Name) == perm.ESPName {
			esp := Partition{Number: uint32(i + 1), FirstLBA: p.FirstLBA, Sectors: p.LastLBA - p.FirstLBA + 1}
			var b bytes.Buffer
			binary.Write(&b, binary.LittleEndian, p.UniqueGUID)
			copy(esp.GUID[:], b.Bytes())
			return esp, nil
		}
	}
	return Partition{}, fmt.Errorf("the boot disk has no partition named %q", perm.ESPName)
}

// newGUID is a random (version 4) GUID in GPT's mixed-endian layout.
func newGUID() gpt.GUID {
	var b [16]byte
	rand.Read(b[:])
	b[7] = b[7]&0x0f | 0x40 // version 4, in W2's high nibble (little-endian)
	b[8] = b[8]&0x3f | 0x80
	var g gpt.GUID
	g.L = binary.LittleEndian.Uint32(b[0:])
	g.W1 = binary.LittleEndian.Uint16(b[4:])
	g.W2 = binary.LittleEndian.Uint16(b[6:])
	copy(g.B[:], b[8:])
	return g
}
