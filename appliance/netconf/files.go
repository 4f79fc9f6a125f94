package netconf

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
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
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
