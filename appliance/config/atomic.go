package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// tempPrefix marks files of a save in progress; Load never reads them and
// the next save removes them.
const tempPrefix = ".tmp-"

// writeAtomic replaces dir/name with data so that after a crash the file
// is either the old one or the new one, whole: write a temporary file in
// the same directory (rename is atomic only within a filesystem), fsync
// it so its data is on disk before its name is, rename it over the old
// name, then fsync the directory so the rename itself survives.
func writeAtomic(dir, name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(dir, tempPrefix+name+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes 0600 files; set the mode before any data is in it.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: chmod: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: rename: %w", name, err)
	}
	ok = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
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
