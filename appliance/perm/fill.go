package perm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// FillFile is the file the tunneler.debug=fillperm test hook fills /perm
// with, so a test can watch the box on a full disk.
const FillFile = ".fillperm-testhook"

// Fill makes FillFile in dir take every free block of its filesystem, the
// ones reserved for root included (init is root), and returns its size.
// It allocates rather than writes, so a large /perm fills in a moment.
func Fill(dir string) (int64, error) {
	path := filepath.Join(dir, FillFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("fill %s: %w", dir, err)
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("fill %s: statfs: %w", dir, err)
	}
	fi, _ := f.Stat()
	size := fi.Size() + int64(st.Bfree)*st.Bsize
	// Metadata takes some of the free blocks: allocate what fits, in
	// halving steps, then top up byte by byte.
	for step := size; step >= st.Bsize; step /= 2 {
		for unix.Fallocate(int(f.Fd()), 0, fi.Size(), step) == nil {
			fi, _ = f.Stat()
		}
	}
	if _, err := f.Seek(0, 2); err != nil {
		return 0, fmt.Errorf("fill %s: %w", dir, err)
	}
	for _, n := range []int{512, 1} {
		for {
			_, err := f.Write(make([]byte, n))
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("fill %s: %w", dir, err)
			}
		}
	}
	f.Sync()
	fi, _ = f.Stat()
	return fi.Size(), nil
}

// Unfill removes FillFile, if a boot with the hook left one.
func Unfill(dir string) error {
	err := os.Remove(filepath.Join(dir, FillFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the test hook's fill file: %w", err)
	}
	return nil
}
