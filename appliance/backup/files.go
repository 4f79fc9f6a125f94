package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
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

// ReplaceDir makes root/rel hold exactly the files of the backup under
// rel/ (a directory replaced whole, such as the router's identity, where
// a file left from the old one would mix two identities). The files are
// written into a staging directory beside it, named stagePrefix plus a
// random suffix, which is then swapped in: the old directory is renamed
// to rel+".old", the staging one to rel, and the old one removed. A power
// cut leaves the old or the new directory whole, or rel missing with
// rel+".old" whole. Files are written in name order, except lastFile
// (a name relative to rel, or ""), written after all others so that its
// presence says the staging directory is complete.
//
// For the router's identity pass stagePrefix ".enroll-" and lastFile
// "enrollment.json": ziti.Router.Tidy then finishes or undoes a swap cut
// by a power failure exactly as it does for an enrollment (it adopts a
// staging directory holding enrollment.json when the identity is missing,
// brings rel+".old" back otherwise, and removes stale staging
// directories). Files outside rel/ are ignored; with none, rel is left
// alone.
func ReplaceDir(root, rel string, files map[string][]byte, stagePrefix, lastFile string) error {
	if err := checkName(rel); err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	sub := map[string][]byte{}
	for name, b := range files {
		if r, ok := strings.CutPrefix(name, rel+"/"); ok {
			sub[r] = b
		}
	}
	if len(sub) == 0 {
		return nil
	}
	dir := filepath.Join(root, filepath.FromSlash(rel))
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	stage, err := os.MkdirTemp(parent, stagePrefix)
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	defer os.RemoveAll(stage) // gone after a successful swap
	names := slices.Sorted(maps.Keys(sub))
	if i := slices.Index(names, lastFile); i >= 0 {
		names = append(slices.Delete(names, i, i+1), lastFile)
	}
	for _, name := range names {
		if err := WriteFiles(stage, map[string][]byte{name: sub[name]}); err != nil {
			return fmt.Errorf("restore %s: %w", rel, err)
		}
	}
	old := dir + ".old"
	os.RemoveAll(old)
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore %s: set the old one aside: %w", rel, err)
	}
	if err := os.Rename(stage, dir); err != nil {
		os.Rename(old, dir)
		return fmt.Errorf("restore %s: move into place: %w", rel, err)
	}
	if d, err := os.Open(parent); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("restore %s: fsync %s: %w", rel, parent, err)
		}
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("restore %s: remove the old one: %w", rel, err)
	}
	return nil
}
