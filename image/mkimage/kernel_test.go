package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBzImage writes a setup header whose kernel_version points at version.
func fakeBzImage(t *testing.T, magic, version string) string {
	img := make([]byte, 0x1000)
	copy(img[0x202:], magic)
	binary.LittleEndian.PutUint16(img[0x20e:], 0x600)
	copy(img[0x800:], version+"\x00")
	path := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKernelRelease(t *testing.T) {
	for _, tc := range []struct{ name, magic, version, want, err string }{
		{"board kernel", "HdrS", "6.1.192-tunneler (tunneler@tunneler) #1 SMP PREEMPT_DYNAMIC", "6.1.192-tunneler", ""},
		{"not a bzImage", "MZ\x00\x00", "x", "", "not a bzImage"},
		{"empty version", "HdrS", "", "", "empty kernel_version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kernelRelease(fakeBzImage(t, tc.magic, tc.version))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("kernelRelease = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
