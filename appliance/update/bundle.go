// Package update writes and installs firmware updates. A bundle is one
// file, a tar stream: manifest.json and manifest.sig (Ed25519 over the
// manifest's bytes) first, then the slot's parts in the manifest's order.
// Everything is read as a stream, so the box never holds a bundle in RAM:
// the signature is checked before any part is read, and each part is
// checked against the size and SHA-256 the signed manifest names while it
// is written to the slot that is not running.
package update

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Names of the bundle's first two members.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
	// FormatVersion is the manifest format this code writes and reads.
	FormatVersion = 1
	// maxManifestBytes bounds what is read before the signature is checked.
	maxManifestBytes = 64 << 10
	// MaxPartBytes bounds a part's claimed size: more than the ESP holds is
	// refused before anything is written.
	MaxPartBytes = 160 << 20
)

// PartNames are the files a slot holds, in bundle order.
var PartNames = []string{"vmlinuz", "initrd", "extras.sqfs"}

// Why a bundle is refused. Install's errors wrap one of these, with a
// message that names the problem.
var (
	ErrSignature = errors.New("signature")
	ErrBoard     = errors.New("board")
	ErrTruncated = errors.New("truncated")
	ErrCorrupt   = errors.New("corrupt")
	ErrOlder     = errors.New("older")
	ErrMalformed = errors.New("malformed")
)

// refusal is an error that names the problem in words and wraps its kind.
type refusal struct {
	kind error
	msg  string
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.kind }

func refuse(kind error, format string, args ...any) error {
	return &refusal{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Manifest describes a bundle, and is kept beside the parts in a slot.
type Manifest struct {
	Format  int       `json:"format"`
	Version string    `json:"version"`
	Board   string    `json:"board"`
	Built   time.Time `json:"built"`
	// Cmdline is the board's kernel command line, for the slot's boot
	// loader entries.
	Cmdline string `json:"cmdline"`
	Parts   []Part `json:"parts"`
}

// Part is one file of the slot.
type Part struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// check validates what a signed manifest says before it is trusted with
// the slot: the known parts, in order, with sizes the ESP can hold.
func (m *Manifest) check() error {
	if m.Format != FormatVersion {
		return refuse(ErrMalformed, "bundle manifest format %d, this firmware reads format %d", m.Format, FormatVersion)
	}
	if m.Version == "" || m.Board == "" {
		return refuse(ErrMalformed, "bundle manifest has no version or no board")
	}
	if len(m.Parts) != len(PartNames) {
		return refuse(ErrMalformed, "bundle manifest lists %d parts, want %d (%v)", len(m.Parts), len(PartNames), PartNames)
	}
	var total int64
	for i, p := range m.Parts {
		if p.Name != PartNames[i] {
			return refuse(ErrMalformed, "bundle manifest part %d is %q, want %q", i+1, p.Name, PartNames[i])
		}
		if p.Size < 0 || p.Size > MaxPartBytes {
			return refuse(ErrMalformed, "bundle part %s claims %d bytes: more than the %d a slot can hold", p.Name, p.Size, MaxPartBytes)
		}
		total += p.Size
		if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != sha256.Size {
			return refuse(ErrMalformed, "bundle part %s: SHA-256 %q is not 64 hex digits", p.Name, p.SHA256)
		}
	}
	if total > MaxPartBytes {
		return refuse(ErrMalformed, "bundle parts claim %d bytes together: more than the %d a slot can hold", total, MaxPartBytes)
	}
	return nil
}

// PartFile is a part to write into a bundle, read from Path.
type PartFile struct {
	Name, Path string
}

// Write writes a bundle of files (PartNames, in order) to w, signed with
// key. m gives version, board, build time and command line; Write fills
// Format and Parts from the files, streaming each twice (hash, then copy).
func Write(w io.Writer, key ed25519.PrivateKey, m Manifest, files []PartFile) (Manifest, error) {
	m.Format = FormatVersion
	m.Parts = nil
	paths := map[string]string{}
	for _, f := range files {
		p, err := hashPath(f.Path)
		if err != nil {
			return m, err
		}
		p.Name = f.Name
		m.Parts = append(m.Parts, p)
		paths[f.Name] = f.Path
	}
	return m, WriteFrom(w, key, m, func(name string) (io.ReadCloser, error) { return os.Open(paths[name]) })
}

// WriteFrom writes a bundle whose parts m.Parts already describes; open
// gives each part's bytes in turn.
func WriteFrom(w io.Writer, key ed25519.PrivateKey, m Manifest, open func(name string) (io.ReadCloser, error)) error {
	m.Format = FormatVersion
	if err := m.check(); err != nil {
		return err
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, member := range []struct {
		name string
		data []byte
	}{{ManifestName, body}, {SignatureName, ed25519.Sign(key, body)}} {
		if err := tw.WriteHeader(&tar.Header{Name: member.name, Mode: 0o644, Size: int64(len(member.data)), ModTime: m.Built, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(member.data); err != nil {
			return err
		}
	}
	for _, p := range m.Parts {
		if err := tw.WriteHeader(&tar.Header{Name: p.Name, Mode: 0o644, Size: p.Size, ModTime: m.Built, Format: tar.FormatPAX}); err != nil {
			return err
		}
		in, err := open(p.Name)
		if err != nil {
			return fmt.Errorf("bundle part %s: %w", p.Name, err)
		}
		n, err := io.Copy(tw, in)
		in.Close()
		if err != nil {
			return fmt.Errorf("bundle part %s: %w", p.Name, err)
		}
		if n != p.Size {
			return fmt.Errorf("bundle part %s: changed while it was written", p.Name)
		}
	}
	return tw.Close()
}

func hashPath(path string) (Part, error) {
	f, err := os.Open(path)
	if err != nil {
		return Part{}, fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Part{}, fmt.Errorf("bundle: read %s: %w", path, err)
	}
	return Part{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Reader reads a bundle as a stream: Open checks the manifest's signature,
// then Next gives each part in turn through a reader that fails at its end
// unless the part had the size and SHA-256 the manifest names.
type Reader struct {
	tr       *tar.Reader
	Manifest Manifest
	next     int
}

// Open reads the manifest and its signature from r and verifies them with
// key. Nothing of a part has been read when it returns.
func Open(r io.Reader, key ed25519.PublicKey) (*Reader, error) {
	tr := tar.NewReader(r)
	body, err := member(tr, ManifestName)
	if err != nil {
		return nil, err
	}
	sig, err := member(tr, SignatureName)
	if err != nil {
		return nil, err
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(key, body, sig) {
		return nil, refuse(ErrSignature, "bundle signature does not verify with this firmware's update key: it was signed by another key, or its manifest was altered")
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, refuse(ErrMalformed, "bundle manifest: %v", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &Reader{tr: tr, Manifest: m}, nil
}

// member reads the next tar member, which must be called name and small.
func member(tr *tar.Reader, name string) ([]byte, error) {
	h, err := tr.Next()
	if err != nil {
		return nil, streamErr(fmt.Sprintf("bundle: reading %s", name), err)
	}
	if h.Name != name {
		return nil, refuse(ErrMalformed, "bundle: want %s next, found %q (is this a Tunneler update bundle?)", name, h.Name)
	}
	if h.Size > maxManifestBytes {
		return nil, refuse(ErrMalformed, "bundle: %s is %d bytes, more than %d", name, h.Size, maxManifestBytes)
	}
	data, err := io.ReadAll(io.LimitReader(tr, maxManifestBytes))
	if err != nil {
		return nil, streamErr(fmt.Sprintf("bundle: reading %s", name), err)
	}
	return data, nil
}

// streamErr names a stream that ended early as truncated, and anything
// else the tar reader refuses as corrupt; other errors (the connection,
// the context) are passed on as they are.
func streamErr(what string, err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return refuse(ErrTruncated, "%s: the bundle ended early (truncated upload or file?)", what)
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrFieldTooLong), errors.Is(err, tar.ErrInsecurePath):
		return refuse(ErrCorrupt, "%s: %v (the bundle is corrupt)", what, err)
	}
	if _, ok := err.(*refusal); ok {
		return err
	}
	// tar's other parse errors have no type of their own.
	if strings.HasPrefix(err.Error(), "archive/tar:") {
		return refuse(ErrCorrupt, "%s: %v (the bundle is corrupt)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Next returns the next part and a reader of its bytes. The reader's last
// Read fails with a refusal unless the part matched the manifest. After
// the last part Next returns io.EOF once the bundle's end was read.
func (r *Reader) Next() (Part, io.Reader, error) {
	if r.next == len(r.Manifest.Parts) {
		if _, err := r.tr.Next(); err != io.EOF {
			if err == nil {
				return Part{}, nil, refuse(ErrMalformed, "bundle has more members than its manifest lists")
			}
			return Part{}, nil, streamErr("bundle end", err)
		}
		return Part{}, nil, io.EOF
	}
	p := r.Manifest.Parts[r.next]
	h, err := r.tr.Next()
	if err != nil {
		return p, nil, streamErr(fmt.Sprintf("bundle part %s", p.Name), err)
	}
	if h.Name != p.Name {
		return p, nil, refuse(ErrCorrupt, "bundle part %d is %q, the manifest says %q", r.next+1, h.Name, p.Name)
	}
	if h.Size != p.Size {
		return p, nil, refuse(ErrCorrupt, "bundle part %s is %d bytes, the signed manifest says %d", p.Name, h.Size, p.Size)
	}
	r.next++
	return p, &partReader{r: r.tr, part: p, h: sha256.New()}, nil
}

// partReader hashes a part as it is read and checks it at the end.
type partReader struct {
	r    io.Reader
	part Part
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
	n    int64
	done bool
}

func (p *partReader) Read(b []byte) (int, error) {
	if p.done {
		return 0, io.EOF
	}
	n, err := p.r.Read(b)
	p.h.Write(b[:n])
	p.n += int64(n)
	if err == io.EOF {
		p.done = true
		if p.n != p.part.Size {
			return n, refuse(ErrTruncated, "bundle part %s ended after %d of %d bytes (truncated)", p.part.Name, p.n, p.part.Size)
		}
		if got := hex.EncodeToString(p.h.Sum(nil)); got != p.part.SHA256 {
			return n, refuse(ErrCorrupt, "bundle part %s has SHA-256 %s, the signed manifest says %s (corrupt)", p.part.Name, got, p.part.SHA256)
		}
		return n, io.EOF
	}
	if err != nil {
		return n, streamErr(fmt.Sprintf("bundle part %s", p.part.Name), err)
	}
	return n, nil
}
