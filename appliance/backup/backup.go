// Package backup writes and reads the file that recreates a box on new
// hardware: the whole config with its secrets, and files from /perm such
// as the router's enrolled identity and the web UI's certificate, sealed
// with a passphrase the operator types.
//
// Nothing secret is in clear in the file. The passphrase is stretched with
// argon2id (parameters in the header, so they can grow), and the payload
// is sealed with XChaCha20-Poly1305 under a key derived from it, with the
// header as associated data, so a changed byte anywhere fails the import.
// A check value, derived from the same stretched passphrase by HKDF under
// another label, tells a wrong passphrase from a damaged file without
// helping a guesser (each guess still costs one argon2id run).
//
// File layout, integers big endian:
//
//	"tunneler-backup\n"  16 bytes, so `head -1` names the file
//	version              1 byte: FormatVersion
//	kdf                  1 byte: 1 = argon2id
//	time, memory         uint32 each: argon2id passes and KiB
//	threads              1 byte
//	salt                 16 bytes
//	nonce                24 bytes
//	check                32 bytes
//	length               uint64: bytes of sealed payload
//	sealed payload       JSON (see payload), then the 16-byte tag
package backup

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tunneler/tunneler/appliance/config"
)

// FormatVersion is the file format this firmware writes and the newest it
// reads.
const FormatVersion = 1

// MinPassphrase is the shortest passphrase Export accepts: the file may
// sit on a laptop or in a mailbox for years, and argon2id only slows a
// guesser down.
const MinPassphrase = 12

// MaxPayload bounds what Import reads: a config is at most 4 MiB, the
// router's identity and cached data model a few MiB.
const MaxPayload = 32 << 20

// The errors Import returns; each is what an operator is told.
var (
	ErrNotBackup       = errors.New("this is not a Tunneler backup file")
	ErrTruncated       = errors.New("the backup file is cut short (an incomplete download or copy?)")
	ErrCorrupt         = errors.New("the backup file is damaged or was altered")
	ErrWrongPassphrase = errors.New("wrong passphrase for this backup")
	ErrNewerFormat     = errors.New("the backup was made by newer firmware; update this box first")
	ErrWeakPassphrase  = fmt.Errorf("the passphrase must be at least %d characters", MinPassphrase)
)

// Contents is what a backup holds.
type Contents struct {
	// Config is the whole config, secrets included.
	Config config.Config
	// Files maps a name to its bytes: slash-separated paths relative to
	// /perm, e.g. "ziti/identity/key.pem" (see Collect and WriteFiles).
	Files map[string][]byte
	// Created and Firmware say when and by what the backup was made;
	// Export fills in Created when it is zero.
	Created  time.Time
	Firmware string
}

const magic = "tunneler-backup\n"

const (
	kdfArgon2id = 1
	saltLen     = 16
	checkLen    = 32
	headerLen   = len(magic) + 1 + 1 + 4 + 4 + 1 + saltLen + chacha20poly1305.NonceSizeX + checkLen + 8
)

// kdfParams are argon2id's costs.
type kdfParams struct {
	Time, Memory uint32 // passes, KiB
	Threads      uint8
}

// defaultParams is what Export uses: the cost RFC 9106 suggests for
// memory-constrained machines (64 MiB), as the admin password hash uses.
var defaultParams = kdfParams{Time: 3, Memory: 64 << 10, Threads: 4}

// limits bounds the costs a file may ask of Import: a crafted header must
// not make the box spend a gigabyte or a minute.
type limits struct {
	MaxTime, MaxMemory uint32
}

var defaultLimits = limits{MaxTime: 16, MaxMemory: 256 << 10}

// payload is the sealed JSON. Config and Secrets are the two documents of
// config.EncodeWithSecrets, kept as bytes (base64 in JSON) because the
// secrets carry the document's checksum.
type payload struct {
	Format   int               `json:"format"`
	Created  time.Time         `json:"created"`
	Firmware string            `json:"firmware,omitempty"`
	Config   []byte            `json:"config"`
	Secrets  []byte            `json:"secrets"`
	Files    map[string][]byte `json:"files,omitempty"`
}

// Export writes c to w as a backup sealed with passphrase.
func Export(w io.Writer, c Contents, passphrase string) error {
	return export(w, c, passphrase, defaultParams)
}

func export(w io.Writer, c Contents, passphrase string, p kdfParams) error {
	if utf8.RuneCountInString(passphrase) < MinPassphrase {
		return fmt.Errorf("export backup: %w", ErrWeakPassphrase)
	}
	for name := range c.Files {
		if err := checkName(name); err != nil {
			return fmt.Errorf("export backup: %w", err)
		}
	}
	doc, secrets, err := config.EncodeWithSecrets(c.Config)
	if err != nil {
		return fmt.Errorf("export backup: %w", err)
	}
	created := c.Created
	if created.IsZero() {
		created = time.Now()
	}
	plain, err := json.Marshal(payload{
		Format: FormatVersion, Created: created.UTC(), Firmware: c.Firmware,
		Config: doc, Secrets: secrets, Files: c.Files,
	})
	if err != nil {
		return fmt.Errorf("export backup: encode: %w", err)
	}
	defer clear(plain)
	if len(plain)+chacha20poly1305.Overhead > MaxPayload {
		return fmt.Errorf("export backup: %d bytes is more than a backup may hold (%d)", len(plain), MaxPayload)
	}
	file, err := seal(plain, passphrase, p)
	if err != nil {
		return fmt.Errorf("export backup: %w", err)
	}
	if _, err := w.Write(file); err != nil {
		return fmt.Errorf("export backup: write: %w", err)
	}
	return nil
}

// seal returns the header and plain sealed under passphrase.
func seal(plain []byte, passphrase string, p kdfParams) ([]byte, error) {
	var salt [saltLen]byte
	var nonce [chacha20poly1305.NonceSizeX]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	key, check, err := deriveKeys(passphrase, salt[:], p)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	h := make([]byte, 0, headerLen+len(plain)+aead.Overhead())
	h = append(h, magic...)
	h = append(h, FormatVersion, kdfArgon2id)
	h = binary.BigEndian.AppendUint32(h, p.Time)
	h = binary.BigEndian.AppendUint32(h, p.Memory)
	h = append(h, p.Threads)
	h = append(h, salt[:]...)
	h = append(h, nonce[:]...)
	h = append(h, check...)
	h = binary.BigEndian.AppendUint64(h, uint64(len(plain)+aead.Overhead()))
	return aead.Seal(h, nonce[:], plain, h), nil
}

// deriveKeys stretches the passphrase and derives the sealing key and the
// check value from it under separate labels.
func deriveKeys(passphrase string, salt []byte, p kdfParams) (key, check []byte, err error) {
	master := argon2.IDKey([]byte(passphrase), salt, p.Time, p.Memory, p.Threads, 32)
	defer clear(master)
	key, err = hkdf.Key(sha256.New, master, salt, "tunneler-backup v1 key", chacha20poly1305.KeySize)
	if err != nil {
		return nil, nil, err
	}
	check, err = hkdf.Key(sha256.New, master, salt, "tunneler-backup v1 check", checkLen)
	if err != nil {
		return nil, nil, err
	}
	return key, check, nil
}

// Import reads a backup written by Export. The config it returns is
// validated; on error nothing is returned and the error says why: it
// matches ErrNotBackup, ErrTruncated, ErrCorrupt, ErrWrongPassphrase or
// ErrNewerFormat, or (for a config this firmware refuses) wraps a
// *config.DecodeError or config.FieldErrors naming the fields.
func Import(r io.Reader, passphrase string) (Contents, error) {
	return importWith(r, passphrase, defaultLimits)
}

func importWith(r io.Reader, passphrase string, lim limits) (Contents, error) {
	plain, err := open(r, passphrase, lim)
	if err != nil {
		return Contents{}, fmt.Errorf("read backup: %w", err)
	}
	defer clear(plain)
	var p payload
	if err := json.Unmarshal(plain, &p); err != nil {
		// Sealed by someone with the passphrase, yet not ours.
		return Contents{}, fmt.Errorf("read backup: contents: %w", ErrCorrupt)
	}
	if p.Format > FormatVersion {
		return Contents{}, fmt.Errorf("read backup: contents are format %d, this firmware reads up to %d: %w", p.Format, FormatVersion, ErrNewerFormat)
	}
	if p.Format < 1 {
		return Contents{}, fmt.Errorf("read backup: contents have no format: %w", ErrCorrupt)
	}
	for name := range p.Files {
		if err := checkName(name); err != nil {
			return Contents{}, fmt.Errorf("read backup: %v: %w", err, ErrCorrupt)
		}
	}
	c, err := config.DecodeWithSecrets(p.Config, p.Secrets)
	if err != nil {
		var de *config.DecodeError
		if errors.As(err, &de) && de.Field == "version" && newerConfig(p.Config) {
			return Contents{}, fmt.Errorf("read backup: %w (%v)", ErrNewerFormat, err)
		}
		return Contents{}, fmt.Errorf("read backup: the backup's %w", err)
	}
	if errs := c.Validate(); len(errs) > 0 {
		return Contents{}, fmt.Errorf("read backup: the backup's config: %w", errs)
	}
	return Contents{Config: c, Files: p.Files, Created: p.Created, Firmware: p.Firmware}, nil
}

// newerConfig reports whether doc's version is beyond this firmware's.
func newerConfig(doc []byte) bool {
	var v struct {
		Version int `json:"version"`
	}
	return json.Unmarshal(doc, &v) == nil && v.Version > config.CurrentVersion
}

// open checks the header, derives the key and returns the payload.
func open(r io.Reader, passphrase string, lim limits) ([]byte, error) {
	h := make([]byte, headerLen)
	n, err := io.ReadFull(r, h[:len(magic)])
	if err != nil {
		if n > 0 && bytes.HasPrefix([]byte(magic), h[:n]) && n < len(magic) {
			return nil, ErrTruncated
		}
		return nil, ErrNotBackup
	}
	if string(h[:len(magic)]) != magic {
		return nil, ErrNotBackup
	}
	if _, err := io.ReadFull(r, h[len(magic):len(magic)+1]); err != nil {
		return nil, ErrTruncated
	}
	if v := h[len(magic)]; v > FormatVersion {
		return nil, fmt.Errorf("file format %d, this firmware reads up to %d: %w", v, FormatVersion, ErrNewerFormat)
	} else if v < 1 {
		return nil, fmt.Errorf("file format %d: %w", v, ErrCorrupt)
	}
	if _, err := io.ReadFull(r, h[len(magic)+1:]); err != nil {
		return nil, ErrTruncated
	}

	rest := h[len(magic)+1:]
	kdf := rest[0]
	p := kdfParams{
		Time:    binary.BigEndian.Uint32(rest[1:5]),
		Memory:  binary.BigEndian.Uint32(rest[5:9]),
		Threads: rest[9],
	}
	rest = rest[10:]
	salt, rest := rest[:saltLen], rest[saltLen:]
	nonce, rest := rest[:chacha20poly1305.NonceSizeX], rest[chacha20poly1305.NonceSizeX:]
	check, rest := rest[:checkLen], rest[checkLen:]
	length := binary.BigEndian.Uint64(rest)

	if kdf != kdfArgon2id {
		return nil, fmt.Errorf("unknown key derivation %d: %w", kdf, ErrCorrupt)
	}
	if p.Time < 1 || p.Time > lim.MaxTime || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > lim.MaxMemory {
		return nil, fmt.Errorf("key derivation costs out of range (%d passes, %d KiB, %d threads): %w", p.Time, p.Memory, p.Threads, ErrCorrupt)
	}
	if length < chacha20poly1305.Overhead || length > MaxPayload {
		return nil, fmt.Errorf("payload length %d: %w", length, ErrCorrupt)
	}
	// Read what the header announces and one byte more, without trusting
	// it for an allocation up front.
	sealed, err := io.ReadAll(io.LimitReader(r, int64(length)+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	switch {
	case uint64(len(sealed)) < length:
		return nil, ErrTruncated
	case uint64(len(sealed)) > length:
		return nil, fmt.Errorf("data after the end: %w", ErrCorrupt)
	}

	key, want, err := deriveKeys(passphrase, salt, p)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if subtle.ConstantTimeCompare(check, want) != 1 {
		return nil, ErrWrongPassphrase
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, nonce, sealed, h)
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}
