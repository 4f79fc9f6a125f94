package update

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	testKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	running  = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
)

var testParts = map[string][]byte{
	"vmlinuz":     []byte("new kernel"),
	"initrd":      bytes.Repeat([]byte("new initrd "), 1000),
	"extras.sqfs": bytes.Repeat([]byte("new extras "), 5000),
}

func testManifest() Manifest {
	m := Manifest{Version: "v2", Board: "generic", Built: running.Add(24 * time.Hour), Cmdline: "console=ttyS0"}
	for _, n := range PartNames {
		sum := sha256.Sum256(testParts[n])
		m.Parts = append(m.Parts, Part{Name: n, Size: int64(len(testParts[n])), SHA256: hex.EncodeToString(sum[:])})
	}
	return m
}

// bundle builds a bundle of testParts signed by key.
func bundle(t testing.TB, key ed25519.PrivateKey, edit func(*Manifest)) []byte {
	t.Helper()
	m := testManifest()
	if edit != nil {
		edit(&m)
	}
	var buf bytes.Buffer
	err := WriteFrom(&buf, key, m, func(name string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(testParts[name])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawBundle writes a bundle without WriteFrom's checks, for manifests the
// writer would refuse to make.
func rawBundle(t testing.TB, m Manifest, parts map[string][]byte) []byte {
	t.Helper()
	body, _ := json.Marshal(m)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))})
		tw.Write(data)
	}
	add(ManifestName, body)
	add(SignatureName, ed25519.Sign(testKey, body))
	for _, n := range PartNames {
		add(n, parts[n])
	}
	tw.Close()
	return buf.Bytes()
}

// esp makes an ESP with slot a running and an older firmware in slot b.
func esp(t *testing.T) (*Installer, string) {
	t.Helper()
	dir := t.TempDir()
	for _, slot := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, slot), 0o755)
		for _, n := range PartNames {
			os.WriteFile(filepath.Join(dir, slot, n), []byte("old "+slot+" "+n), 0o644)
		}
		os.WriteFile(filepath.Join(dir, slot, SlotManifest), []byte(`{"version":"old"}`), 0o644)
	}
	return &Installer{ESP: dir, Running: "a", Board: "generic", Key: testKey.Public().(ed25519.PublicKey),
		Version: "v1", Built: running}, dir
}

// tree reads every file under dir, names relative.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			data, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(data)
		}
		return nil
	})
	return out
}

func TestInstall(t *testing.T) {
	in, dir := esp(t)
	b := bundle(t, testKey, nil)
	res, err := in.Install(context.Background(), bytes.NewReader(b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if res.SHA256 != hex.EncodeToString(sum[:]) || res.Bytes != int64(len(b)) {
		t.Errorf("digest %s of %d bytes, want %x of %d", res.SHA256, res.Bytes, sum, len(b))
	}
	if res.Slot != "b" || res.Version != "v2" || res.Board != "generic" {
		t.Errorf("result %+v", res)
	}
	if len(res.Verified) != 6 {
		t.Errorf("verified %q, want signature, board, version and three parts", res.Verified)
	}
	got := tree(t, dir)
	for _, n := range PartNames {
		if got["b/"+n] != string(testParts[n]) {
			t.Errorf("slot b %s = %.20q, want the bundle's", n, got["b/"+n])
		}
		if got["a/"+n] != "old a "+n {
			t.Errorf("running slot a %s was touched: %.20q", n, got["a/"+n])
		}
	}
	m, err := ReadSlotManifest(dir, "b")
	if err != nil || m.Version != "v2" || len(m.Parts) != 3 {
		t.Errorf("slot b manifest %+v, %v", m, err)
	}
	for name := range got {
		if strings.Contains(name, tempPrefix) {
			t.Errorf("temporary file %s left", name)
		}
	}
}

// Every refusal names its problem and leaves the other slot as it was.
func TestInstallRefuses(t *testing.T) {
	good := bundle(t, testKey, nil)
	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0x40
		return c
	}
	partAt := bytes.Index(good, testParts["extras.sqfs"][:64])
	manifestAt := bytes.Index(good, []byte(`"version"`))
	huge := testManifest()
	huge.Format = FormatVersion
	huge.Parts[2].Size = 1 << 40
	for _, tc := range []struct {
		name   string
		bundle []byte
		opt    Options
		kind   error
		says   string
	}{
		{"another key", bundle(t, otherKey, nil), Options{}, ErrSignature, "signed by another key"},
		{"altered manifest", flip(good, manifestAt+2), Options{}, ErrSignature, "signed by another key, or its manifest was altered"},
		{"another board", bundle(t, testKey, func(m *Manifest) { m.Board = "qemu" }), Options{}, ErrBoard, `built for board "qemu"; this box is "generic"`},
		{"older", bundle(t, testKey, func(m *Manifest) { m.Built = running.Add(-time.Hour) }), Options{}, ErrOlder, "ask for a downgrade"},
		{"truncated in the manifest", good[:600], Options{}, ErrTruncated, "ended early"},
		{"truncated in a part", good[:partAt+1000], Options{}, ErrTruncated, "extras.sqfs"},
		{"truncated before the last part", good[:partAt-512], Options{}, ErrTruncated, "extras.sqfs"},
		{"truncated by the last byte of a part", good[:partAt+len(testParts["extras.sqfs"])-1], Options{}, ErrTruncated, "extras.sqfs"},
		{"a flipped byte in a part", flip(good, partAt+5000), Options{}, ErrCorrupt, "extras.sqfs has SHA-256"},
		{"a flipped byte in a part header", flip(good, partAt-512+148), Options{}, ErrCorrupt, "corrupt"},
		{"huge sizes claimed", rawBundle(t, huge, testParts), Options{}, ErrMalformed, "claims 1099511627776 bytes"},
		{"an unknown manifest format", rawBundle(t, testManifest(), testParts), Options{}, ErrMalformed, "format 0"},
		{"not a bundle", bytes.Repeat([]byte("x"), 4096), Options{}, ErrCorrupt, "corrupt"},
		{"empty", nil, Options{}, ErrTruncated, "ended early"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, dir := esp(t)
			before := tree(t, dir)
			_, err := in.Install(context.Background(), bytes.NewReader(tc.bundle), tc.opt)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want a refusal of kind %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("message %q does not say %q", err, tc.says)
			}
			if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
				t.Errorf("the ESP changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestInstallDowngradeWhenAsked(t *testing.T) {
	in, dir := esp(t)
	b := bundle(t, testKey, func(m *Manifest) { m.Built = running.Add(-time.Hour); m.Version = "v0" })
	res, err := in.Install(context.Background(), bytes.NewReader(b), Options{AllowDowngrade: true})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := ReadSlotManifest(dir, "b"); m.Version != "v0" || !strings.Contains(strings.Join(res.Verified, "\n"), "downgrade") {
		t.Errorf("slot b has %q; verified %q", m.Version, res.Verified)
	}
}

// From slot b the update goes to a.
func TestInstallFromSlotB(t *testing.T) {
	in, dir := esp(t)
	in.Running = "b"
	if _, err := in.Install(context.Background(), bytes.NewReader(bundle(t, testKey, nil)), Options{}); err != nil {
		t.Fatal(err)
	}
	got := tree(t, dir)
	if got["a/vmlinuz"] != "new kernel" || got["b/vmlinuz"] != "old b vmlinuz" {
		t.Errorf("a/vmlinuz %q, b/vmlinuz %q", got["a/vmlinuz"], got["b/vmlinuz"])
	}
}

// A client that goes away mid-upload leaves nothing.
func TestInstallCancelled(t *testing.T) {
	in, dir := esp(t)
	before := tree(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	b := bundle(t, testKey, nil)
	r := &cancelAfter{r: bytes.NewReader(b), n: len(b) / 2, cancel: cancel}
	if _, err := in.Install(ctx, r, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("the ESP changed:\n%s", diff)
	}
}

type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(b []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	if len(b) > c.n && c.n > 0 {
		b = b[:c.n]
	}
	n, err := c.r.Read(b)
	c.n -= n
	return n, err
}

func TestOneInstallAtATime(t *testing.T) {
	in, _ := esp(t)
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, err := in.Install(context.Background(), bytes.NewReader(nil), Options{}); err == nil || !strings.Contains(err.Error(), "another update") {
		t.Errorf("err = %v, want another update is being installed", err)
	}
}

// pattern is a part of any size made on the fly: no test holds it whole.
type pattern struct{ left, i int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for k := range b {
		b[k] = byte(p.i*31 + p.i>>9)
		p.i++
	}
	p.left -= int64(len(b))
	return len(b), nil
}
func (p *pattern) Close() error { return nil }

// maxRead records the largest read the installer asks of its source.
type maxRead struct {
	r   io.Reader
	max int
}

func (m *maxRead) Read(b []byte) (int, error) {
	if len(b) > m.max {
		m.max = len(b)
	}
	return m.r.Read(b)
}

// A 150 MiB part streams through with memory that does not grow with it:
// the bundle comes from a pipe, the installer reads it in copy-buffer
// sized pieces and allocates far less than the part.
func TestInstallStreamsBigPart(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 150 MiB")
	}
	const size = 150 << 20
	h := sha256.New()
	io.Copy(h, &pattern{left: size})
	m := testManifest()
	m.Parts[2] = Part{Name: "extras.sqfs", Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}
	m.Parts[1] = Part{Name: "initrd", Size: 0, SHA256: hex.EncodeToString(sha256.New().Sum(nil))}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(WriteFrom(pw, testKey, m, func(name string) (io.ReadCloser, error) {
			if name == "extras.sqfs" {
				return &pattern{left: size}, nil
			}
			if name == "initrd" {
				return io.NopCloser(bytes.NewReader(nil)), nil
			}
			return io.NopCloser(bytes.NewReader(testParts[name])), nil
		}))
	}()
	in, dir := esp(t)
	src := &maxRead{r: pr}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := in.Install(context.Background(), src, Options{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// The writer goroutine allocates too (tar, its copy buffer): both
	// together must stay far under the part's size.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("installing a %d MiB part allocated %d KiB: it is being buffered", size>>20, alloc>>10)
	}
	if src.max > 64<<10 {
		t.Errorf("the installer read %d bytes at once, want copy-buffer sized reads", src.max)
	}
	fi, err := os.Stat(filepath.Join(dir, "b", "extras.sqfs"))
	if err != nil || fi.Size() != size {
		t.Errorf("slot b extras.sqfs: %v, %v", fi, err)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	var files []PartFile
	for _, n := range PartNames {
		p := filepath.Join(dir, n)
		os.WriteFile(p, testParts[n], 0o644)
		files = append(files, PartFile{Name: n, Path: p})
	}
	var buf bytes.Buffer
	m, err := Write(&buf, testKey, Manifest{Version: "v2", Board: "generic", Built: running}, files)
	if err != nil {
		t.Fatal(err)
	}
	want := testManifest()
	want.Format, want.Built, want.Cmdline = FormatVersion, running, ""
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	r, err := Open(&buf, testKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for {
		p, pr, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(pr)
		if err != nil || !bytes.Equal(data, testParts[p.Name]) {
			t.Errorf("part %s: %v", p.Name, err)
		}
		names = append(names, p.Name)
	}
	if diff := cmp.Diff(PartNames, names); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
}
