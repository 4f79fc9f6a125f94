package main

import (
	"github.com/tunneler/tunneler/board"

	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// builder holds what the steps share.
type builder struct {
	board   board.Profile
	version string
	cache   string // downloads and extracted packages, shared by boards
	out     string // this board's artifacts
	steps   int
	n       int

	kernelVersion string // the board kernel's release (uname -r)

	updateKey     ed25519.PrivateKey // signs the update bundle; its public half goes into init
	updateKeyPath string

	testBreak string // init's main.testBreak: a firmware broken on purpose, for rollback tests
}

// step runs fn unless the hash of inputs matches what the last run of
// this step recorded in stamp and every output exists. It prints progress.
func (b *builder) step(title string, inputs []string, extra string, outputs []string, fn func() error) error {
	b.n++
	prefix := fmt.Sprintf("[%d/%d] %s", b.n, b.steps, title)
	key, err := hashInputs(inputs, extra)
	if err != nil {
		return fmt.Errorf("%s: hash inputs: %w", title, err)
	}
	stamp := filepath.Join(b.out, ".stamp-"+sanitize(title))
	if old, err := os.ReadFile(stamp); err == nil && string(old) == key && allExist(outputs) {
		fmt.Printf("%s: up to date\n", prefix)
		return nil
	}
	fmt.Printf("%s ...\n", prefix)
	start := time.Now()
	done := make(chan struct{})
	go heartbeat(prefix, start, done)
	err = fn()
	close(done)
	if err != nil {
		return fmt.Errorf("%s: %w", title, err)
	}
	fmt.Printf("%s: done in %.1fs\n", prefix, time.Since(start).Seconds())
	return os.WriteFile(stamp, []byte(key), 0o644)
}

// heartbeat says a step is still alive every few seconds, so a long step
// never looks hung.
func heartbeat(prefix string, start time.Time, done <-chan struct{}) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			fmt.Printf("%s: still working (%.0fs)\n", prefix, time.Since(start).Seconds())
		}
	}
}

func sanitize(s string) string {
	r := []rune(s)
	for i, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			r[i] = '-'
		}
	}
	return string(r)
}

func allExist(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// hashInputs hashes the names and contents of files (directories are walked
// in sorted order) together with extra.
func hashInputs(inputs []string, extra string) (string, error) {
	h := sha256.New()
	io.WriteString(h, extra)
	for _, in := range inputs {
		var files []string
		err := filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		sort.Strings(files)
		for _, f := range files {
			fmt.Fprintf(h, "\x00%s\x00", f)
			if err := hashFile(h, f); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, "->"+target)
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// copyFile copies src to dst with mode.
func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
