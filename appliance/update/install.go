package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// copyBuffer is the size of the one buffer a part is copied through.
const copyBuffer = 32 << 10

// tempPrefix starts the names parts are written under until all are
// verified; a power cut leaves at most such files, which the next install
// replaces.
const tempPrefix = ".new-"

// SlotManifest is the name of the manifest kept in a slot's directory.
const SlotManifest = "manifest.json"

// Installer writes bundles into the ESP slot that is not running.
type Installer struct {
	ESP     string            // where the ESP is mounted (/boot)
	Running string            // the slot this firmware booted from
	Board   string            // this box's board
	Key     ed25519.PublicKey // the update key built into init
	// Version and Built describe the running firmware; a bundle built
	// before Built is a downgrade.
	Version string
	Built   time.Time
	// Writable makes the ESP writable for an install and returns how to
	// make it read-only again; nil means it is writable (tests).
	Writable func() (restore func() error, err error)

	mu sync.Mutex
}

// Options are what the operator asks of one install.
type Options struct {
	AllowDowngrade bool
}

// Result is what an install verified and wrote.
type Result struct {
	Slot    string    `json:"slot"`
	Version string    `json:"version"`
	Board   string    `json:"board"`
	Built   time.Time `json:"built"`
	// SHA256 is the digest of every byte received, so a script can
	// compare it with the file it sent.
	SHA256   string   `json:"sha256"`
	Bytes    int64    `json:"bytes"`
	Parts    []Part   `json:"parts"`
	Verified []string `json:"verified"`
}

// Other returns the slot that is not s.
func Other(s string) string {
	if s == "b" {
		return "a"
	}
	return "b"
}

// Install reads a bundle from r, verifies it and writes it into the other
// slot. Parts go to temporary files first; only when every part matched
// the signed manifest are they renamed into place. On any error nothing of
// the slot has changed and the temporary files are gone.
func (in *Installer) Install(ctx context.Context, r io.Reader, opt Options) (Result, error) {
	if !in.mu.TryLock() {
		return Result{}, errors.New("another update is being installed; wait for it to finish")
	}
	defer in.mu.Unlock()

	whole := sha256.New()
	counted := &countingReader{r: io.TeeReader(&ctxReader{ctx: ctx, r: r}, whole)}
	br, err := Open(counted, in.Key)
	if err != nil {
		return Result{}, err
	}
	m := br.Manifest
	res := Result{Slot: Other(in.Running), Version: m.Version, Board: m.Board, Built: m.Built, Parts: m.Parts}
	res.Verified = append(res.Verified, fmt.Sprintf("signature: Ed25519, update key %s", KeyID(in.Key)))
	if m.Board != in.Board {
		return res, refuse(ErrBoard, "bundle %s is built for board %q; this box is %q", m.Version, m.Board, in.Board)
	}
	res.Verified = append(res.Verified, fmt.Sprintf("board: %s", m.Board))
	switch {
	case !m.Built.Before(in.Built):
		res.Verified = append(res.Verified, fmt.Sprintf("version: %s built %s, not older than the running %s", m.Version, m.Built.UTC().Format(time.RFC3339), in.Version))
	case opt.AllowDowngrade:
		res.Verified = append(res.Verified, fmt.Sprintf("version: %s is a downgrade from %s, as asked", m.Version, in.Version))
	default:
		return res, refuse(ErrOlder, "bundle %s was built %s, before the running %s (built %s): ask for a downgrade to install it",
			m.Version, m.Built.UTC().Format(time.RFC3339), in.Version, in.Built.UTC().Format(time.RFC3339))
	}

	if in.Writable != nil {
		restore, err := in.Writable()
		if err != nil {
			return res, fmt.Errorf("make the ESP writable: %w", err)
		}
		defer restore()
	}
	dir := filepath.Join(in.ESP, res.Slot)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("slot %s: %w", res.Slot, err)
	}
	var temps []string
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	buf := make([]byte, copyBuffer)
	for {
		p, pr, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		tmp := filepath.Join(dir, tempPrefix+p.Name)
		temps = append(temps, tmp)
		if err := writeSynced(tmp, pr, buf); err != nil {
			return res, err
		}
		res.Verified = append(res.Verified, fmt.Sprintf("%s: %d bytes, SHA-256 %s", p.Name, p.Size, p.SHA256))
	}
	// The end of the stream (tar's end blocks and any padding) counts in
	// the digest, so it is the digest of the file as sent.
	if _, err := io.CopyBuffer(io.Discard, io.LimitReader(counted, 1<<20), buf); err != nil {
		return res, fmt.Errorf("bundle end: %w", err)
	}
	res.SHA256 = hex.EncodeToString(whole.Sum(nil))
	res.Bytes = counted.n

	if err := commitSlot(dir, m, temps); err != nil {
		return res, fmt.Errorf("slot %s: %w", res.Slot, err)
	}
	temps = nil
	return res, nil
}

// commitSlot puts verified parts in place. The slot's manifest goes first
// (and comes back last), so a slot cut off half way by a power cut never
// reads as a complete firmware.
func commitSlot(dir string, m Manifest, temps []string) error {
	if err := os.Remove(filepath.Join(dir, SlotManifest)); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	for i, t := range temps {
		if err := os.Rename(t, filepath.Join(dir, m.Parts[i].Name)); err != nil {
			return err
		}
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSynced(filepath.Join(dir, SlotManifest), body); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeSynced copies r to a new file at path through buf and fsyncs it.
func writeSynced(path string, r io.Reader, buf []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(onlyWriter{f}, r, buf); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return f.Close()
}

// writeFileSynced replaces path with data: a temporary file, fsync, rename.
// (atomicfile would chmod, which the ESP's FAT refuses.)
func writeFileSynced(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), tempPrefix+filepath.Base(path))
	if err := writeSynced(tmp, bytes.NewReader(data), make([]byte, copyBuffer)); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// onlyWriter hides the file's ReadFrom, so the copy goes through buf and
// the part's reader sees every byte.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(b []byte) (int, error) { return o.w.Write(b) }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// ctxReader stops a stream when its context ends (the client left).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("upload stopped: %w", err)
	}
	return c.r.Read(b)
}

// KeyID names a public key briefly: the start of its SHA-256.
func KeyID(k ed25519.PublicKey) string {
	sum := sha256.Sum256(k)
	return "SHA256:" + hex.EncodeToString(sum[:8])
}

// ReadSlotManifest reads the manifest kept in esp/slot; an empty slot
// answers an error that os.IsNotExist.
func ReadSlotManifest(esp, slot string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(esp, slot, SlotManifest))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("slot %s manifest: %w", slot, err)
	}
	return m, nil
}
