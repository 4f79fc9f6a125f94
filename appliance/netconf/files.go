package netconf

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/tunneler/tunneler/appliance/atomicfile"
)

// resolvConf renders resolv.conf for the given servers and search domains.
func resolvConf(servers []netip.Addr, search []string) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by tunneler (appliance/netconf); edits are overwritten.\n")
	if len(search) > 0 {
		b.WriteString("search")
		for _, s := range search {
			b.WriteString(" " + s)
		}
		b.WriteString("\n")
	}
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	return b.Bytes()
}

// writeFileAtomic replaces path with data so readers see the old or the new
// file, never a half-written one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, data, perm)
}
