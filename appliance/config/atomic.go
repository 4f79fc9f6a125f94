package config

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tunneler/tunneler/appliance/atomicfile"
)

// tempPrefix marks files of a save in progress (atomicfile's temporary
// files); Load never reads them and the next save removes them.
const tempPrefix = atomicfile.TempPrefix

// writeAtomic replaces dir/name with data so that after a crash the file
// is either the old one or the new one, whole (atomicfile.Write).
func writeAtomic(dir, name string, data []byte, perm os.FileMode) error {
	return atomicfile.Write(filepath.Join(dir, name), data, perm)
}

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
