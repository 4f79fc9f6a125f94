// Package efivar reads and writes UEFI variables through efivarfs
// (/sys/firmware/efi/efivars), where each variable is a file NAME-GUID
// holding 4 bytes of attributes and then the value.
package efivar

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf16"

	"golang.org/x/sys/unix"
)

// GlobalGUID is EFI_GLOBAL_VARIABLE: Boot####, BootOrder.
const GlobalGUID = "8be4df61-93ca-11d2-aa0d-00e098032b8c"

// attrs: non-volatile, boot service and runtime access.
const attrs = 0x1 | 0x2 | 0x4

// fsImmutableFL is the kernel's FS_IMMUTABLE_FL (linux/fs.h).
const fsImmutableFL = 0x10

// Write sets the variable name (NAME-GUID) in dir to value, non-volatile
// and visible at run time, in one write as efivarfs wants.
func Write(dir, name string, value []byte) error {
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint32(attrs))
	buf.Write(value)
	path := filepath.Join(dir, name)
	// efivarfs makes existing variables immutable; a new value replaces
	// the old one only once that flag is off.
	if f, err := os.Open(path); err == nil {
		if flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS); err == nil && flags&fsImmutableFL != 0 {
			unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags&^fsImmutableFL))
		}
		f.Close()
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("EFI variable %s: %w", name, err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("EFI variable %s: %w", name, err)
	}
	return f.Close()
}

// Read returns the variable's value without its attributes.
func Read(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("EFI variable %s: %d bytes, not even its attributes", name, len(b))
	}
	return b[4:], nil
}

// UTF16 is s as a NUL-terminated UTF-16LE string, as UEFI stores text.
func UTF16(s string) []byte {
	var buf bytes.Buffer
	for _, u := range utf16.Encode([]rune(s)) {
		binary.Write(&buf, binary.LittleEndian, u)
	}
	buf.Write([]byte{0, 0})
	return buf.Bytes()
}
