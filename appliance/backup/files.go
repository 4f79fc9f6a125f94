package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tunneler/tunneler/appliance/atomicfile"
)

// maxFiles bounds how many files a backup carries: an identity directory
// holds seven, the web UI two.
const maxFiles = 256

// checkName accepts a slash-separated path relative to the root, without
// "..", "." or empty elements, so WriteFiles cannot write outside it.
func checkName(name string) error {
	if name == "" || len(name) > 255 || !fs.ValidPath(name) || name == "." ||
		strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(path.Base(name), atomicfile.TempPrefix) {
		return fmt.Errorf("file name %q is not a plain relative path", name)
	}
	return nil
}

// Collect reads files under root for a backup: each of rels is a file or a
// directory (read whole, regular files only) relative to root, e.g.
// "ziti/router.yml", "ziti/identity", "webui". A rel that does not exist
// is left out: a box that never enrolled its router has no identity.
// Names in the result are slash-separated, relative to root.
func Collect(root string, rels ...string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, rel := range rels {
		if err := checkName(filepath.ToSlash(rel)); err != nil {
			return nil, fmt.Errorf("collect backup files: %w", err)
		}
		err := filepath.WalkDir(filepath.Join(root, rel), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), atomicfile.TempPrefix) {
				return nil // directories are walked; links, sockets and half-written files are not state
			}
			name, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if len(out) >= maxFiles {
				return fmt.Errorf("more than %d files", maxFiles)
			}
			out[filepath.ToSlash(name)] = b
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("collect backup files from %s: %w", filepath.Join(root, rel), err)
		}
	}
	return out, nil
}

// WriteFiles writes files under root, each atomically with mode 0600 (they
// are keys and certificates), creating directories with mode 0700. To
// replace a directory whole (the router's identity), write into an empty
// staging root and rename its directories into place.
func WriteFiles(root string, files map[string][]byte) error {
	for name, b := range files {
		if err := checkName(name); err != nil {
			return fmt.Errorf("restore backup files: %w", err)
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
		if err := atomicfile.Write(p, b, 0o600); err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
	}
	return nil
}
