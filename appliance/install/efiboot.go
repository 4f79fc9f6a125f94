package install

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/tunneler/tunneler/appliance/efivar"
)

// Partition is a partition as a UEFI device path names it.
type Partition struct {
	Number   uint32 // 1-based, in the GPT's entry order
	FirstLBA uint64
	Sectors  uint64
	GUID     [16]byte // the unique partition GUID, as stored on disk
}

// BootLoader is the path of the boot loader on the ESP (systemd-boot, at
// the removable-media path image/mkimage puts it at).
const BootLoader = `\EFI\BOOT\BOOTX64.EFI`

// loadOption is an EFI_LOAD_OPTION (UEFI 2.10 §3.1.3): active, the
// description, and the device path HD(partition)/File(path)/End.
func loadOption(description string, p Partition, path string) []byte {
	var dp bytes.Buffer
	// Hard drive media device path: type 4, subtype 1, 42 bytes.
	dp.Write([]byte{4, 1, 42, 0})
	binary.Write(&dp, binary.LittleEndian, p.Number)
	binary.Write(&dp, binary.LittleEndian, p.FirstLBA)
	binary.Write(&dp, binary.LittleEndian, p.Sectors)
	dp.Write(p.GUID[:])
	dp.Write([]byte{2, 2}) // GPT, GUID signature
	// File path media device path: type 4, subtype 4.
	file := efivar.UTF16(path)
	binary.Write(&dp, binary.LittleEndian, [2]byte{4, 4})
	binary.Write(&dp, binary.LittleEndian, uint16(4+len(file)))
	dp.Write(file)
	dp.Write([]byte{0x7f, 0xff, 4, 0}) // end of the whole path

	var opt bytes.Buffer
	binary.Write(&opt, binary.LittleEndian, uint32(1)) // LOAD_OPTION_ACTIVE
	binary.Write(&opt, binary.LittleEndian, uint16(dp.Len()))
	opt.Write(efivar.UTF16(description))
	opt.Write(dp.Bytes())
	return opt.Bytes()
}

var bootVarRe = regexp.MustCompile(`^Boot([0-9A-F]{4})-` + efivar.GlobalGUID + `$`)

// AddBootEntry adds a boot entry for the boot loader on ESP p, named
// description, and puts it first in BootOrder, so the firmware boots the
// internal disk first. dir is efivarfs. It returns the entry's number.
func AddBootEntry(dir, description string, p Partition) (uint16, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("read the EFI variables: %w", err)
	}
	used := map[uint16]bool{}
	for _, e := range entries {
		if m := bootVarRe.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.ParseUint(m[1], 16, 16)
			used[uint16(n)] = true
		}
	}
	var num uint16
	for used[num] {
		num++
	}
	name := fmt.Sprintf("Boot%04X-%s", num, efivar.GlobalGUID)
	if err := efivar.Write(dir, name, loadOption(description, p, BootLoader)); err != nil {
		return 0, err
	}
	order := []uint16{num}
	if old, err := efivar.Read(dir, "BootOrder-"+efivar.GlobalGUID); err == nil {
		for i := 0; i+1 < len(old); i += 2 {
			if n := binary.LittleEndian.Uint16(old[i:]); n != num {
				order = append(order, n)
			}
		}
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, order)
	if err := efivar.Write(dir, "BootOrder-"+efivar.GlobalGUID, buf.Bytes()); err != nil {
		return num, err
	}
	return num, nil
}
