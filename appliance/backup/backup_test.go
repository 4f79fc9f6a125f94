package backup

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/config"
)

const (
	passphrase = "correct horse battery staple"
	psk1       = "q7Vt-Lx2Rk9_wZ4mNp8Hc3Jd6Fy1Gs5B"
	psk2       = "M3n_Qz8rXw2Kp5Vd-Ht9Lc4Bj7Fg1Ys6"
	adminHash  = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo"
	routerKey  = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIDistinctiveRouterKeyMaterial0123456789abcdefAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n"
)

// fastParams keeps tests quick; the format is the same at any cost.
var fastParams = kdfParams{Time: 1, Memory: 64, Threads: 1}

func testConfig() config.Config {
	return config.Config{
		Version: config.CurrentVersion,
		System:  config.System{Hostname: "edge-1"},
		Interfaces: []config.Interface{
			{Role: config.RoleWAN, MAC: "52:54:00:12:34:56", Mode: config.ModeStatic, Address: config.MustPrefix("198.51.100.10/24"), Gateway: config.MustAddr("198.51.100.1")},
			{Role: config.RoleLAN, MAC: "52:54:00:12:34:57", Mode: config.ModeStatic, Address: config.MustPrefix("192.168.10.1/24")},
		},
		Admin: config.Admin{PasswordHash: config.NewSecret(adminHash)},
		Tunnels: []config.Tunnel{
			{Name: "site-a", PeerAddress: "203.0.113.5", IKESettings: config.IKESettings{PSK: config.NewSecret(psk1)}, RemoteNetworks: []config.Prefix{config.MustPrefix("10.1.0.0/16")}},
			{Name: "site-b", PeerAddress: "203.0.113.6", IKESettings: config.IKESettings{PSK: config.NewSecret(psk2)}, RemoteNetworks: []config.Prefix{config.MustPrefix("10.2.0.0/16")}},
		},
		Router: config.Router{Enrolled: true},
	}
}

func testContents() Contents {
	return Contents{
		Config: testConfig(),
		Files: map[string][]byte{
			"ziti/router.yml":             []byte("v: 3\n"),
			"ziti/identity/key.pem":       []byte(routerKey),
			"ziti/identity/cert.pem":      []byte("-----BEGIN CERTIFICATE-----\n...\n"),
			"ziti/identity/db.proto.gzip": {0x1f, 0x8b, 0, 1, 2, 3},
			"webui/webui-key.pem":         []byte("web key"),
		},
		Created:  time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		Firmware: "tunneler 1.4",
	}
}

func exportTest(t testing.TB, c Contents, pass string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := export(&buf, c, pass, fastParams); err != nil {
		t.Fatalf("export: %v", err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	want := testContents()
	file := exportTest(t, want, passphrase)
	got, err := Import(bytes.NewReader(file), passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Import(Export(c)) (-want +got):\n%s", diff)
	}
	if got.Config.Tunnels[0].PSK.Reveal() != psk1 || got.Config.Admin.PasswordHash.Reveal() != adminHash {
		t.Error("secrets did not survive the round trip")
	}
}

// TestNothingSecretInClear looks for every secret, and pieces of the
// config that would show the payload is readable, in the file's bytes.
func TestNothingSecretInClear(t *testing.T) {
	file := exportTest(t, testContents(), passphrase)
	for _, s := range []string{psk1, psk2, adminHash, routerKey[40:70], "edge-1", "site-a", "ziti/identity", passphrase, "(hidden)"} {
		if bytes.Contains(file, []byte(s)) {
			t.Errorf("backup file contains %q in clear", s)
		}
	}
	if !bytes.HasPrefix(file, []byte("tunneler-backup\n")) {
		t.Errorf("backup file starts with %q, want the magic line", file[:16])
	}
	// Two exports of the same contents share nothing but the header's
	// fixed fields (fresh salt and nonce each time).
	again := exportTest(t, testContents(), passphrase)
	if bytes.Equal(file[len(magic)+11:], again[len(magic)+11:]) {
		t.Error("two exports are identical after the fixed header: salt or nonce reused")
	}
}

func TestDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2id at 64 MiB")
	}
	var buf bytes.Buffer
	if err := Export(&buf, testContents(), passphrase); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(bytes.NewReader(buf.Bytes()), passphrase); err != nil {
		t.Fatalf("Import of a default-cost export: %v", err)
	}
}

func TestImportErrors(t *testing.T) {
	good := exportTest(t, testContents(), passphrase)
	at := func(off int) int { return off } // for readability of offsets below
	flip := func(off int) []byte {
		b := bytes.Clone(good)
		b[off] ^= 0x01
		return b
	}
	setHeader := func(f func(h []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	newerConfig := func() []byte {
		c := testContents()
		b := exportTest(t, c, passphrase)
		// Reseal a payload whose config claims a future version.
		return resealed(t, b, func(p *payload) {
			p.Config = bytes.Replace(p.Config, []byte(`"version": 3`), []byte(`"version": 99`), 1)
		})
	}
	unknownField := resealed(t, good, func(p *payload) {
		p.Config = bytes.Replace(p.Config, []byte(`"system": {`), []byte(`"system": {"quantum": true, `), 1)
	})
	invalid := func() []byte {
		c := testContents()
		c.Config.Tunnels[1].PeerAddress = "not an address!"
		return exportTest(t, c, passphrase)
	}()
	for _, tc := range []struct {
		name  string
		file  []byte
		pass  string
		want  error
		words string // the message must say this too
	}{
		{"wrong passphrase", good, "incorrect horse battery", ErrWrongPassphrase, "wrong passphrase"},
		{"empty file", nil, passphrase, ErrNotBackup, "not a Tunneler backup"},
		{"a plain config document", []byte(`{"version": 3, "system": {}}`), passphrase, ErrNotBackup, ""},
		{"a gzip file", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8}, passphrase, ErrNotBackup, ""},
		{"cut in the magic", good[:5], passphrase, ErrTruncated, "cut short"},
		{"cut in the header", good[:40], passphrase, ErrTruncated, ""},
		{"cut after the header", good[:headerLen], passphrase, ErrTruncated, ""},
		{"cut in the payload", good[:len(good)-1], passphrase, ErrTruncated, ""},
		{"data after the end", append(bytes.Clone(good), 0), passphrase, ErrCorrupt, "damaged or was altered"},
		{"payload byte flipped", flip(len(good) - 40), passphrase, ErrCorrupt, ""},
		{"tag byte flipped", flip(len(good) - 1), passphrase, ErrCorrupt, ""},
		{"nonce changed", flip(at(len(magic) + 11 + saltLen)), passphrase, ErrCorrupt, ""},
		// The salt feeds the key derivation: a changed salt looks like
		// another passphrase, which is all the file can tell.
		{"salt changed", flip(at(len(magic) + 11)), passphrase, ErrWrongPassphrase, ""},
		{"newer file format", setHeader(func(h []byte) { h[len(magic)] = 2 }), passphrase, ErrNewerFormat, "newer firmware"},
		{"format zero", setHeader(func(h []byte) { h[len(magic)] = 0 }), passphrase, ErrCorrupt, ""},
		{"unknown kdf", setHeader(func(h []byte) { h[len(magic)+1] = 7 }), passphrase, ErrCorrupt, ""},
		{"kdf memory too big", setHeader(func(h []byte) { binary.BigEndian.PutUint32(h[len(magic)+6:], 1<<30) }), passphrase, ErrCorrupt, "costs out of range"},
		{"kdf passes zero", setHeader(func(h []byte) { binary.BigEndian.PutUint32(h[len(magic)+2:], 0) }), passphrase, ErrCorrupt, ""},
		{"length beyond the limit", setHeader(func(h []byte) { binary.BigEndian.PutUint64(h[headerLen-8:], 1<<40) }), passphrase, ErrCorrupt, ""},
		{"length changed", setHeader(func(h []byte) { h[headerLen-1]-- }), passphrase, ErrCorrupt, ""},
		{"newer payload format", resealed(t, good, func(p *payload) { p.Format = 2 }), passphrase, ErrNewerFormat, ""},
		{"config from newer firmware", newerConfig(), passphrase, ErrNewerFormat, "versions 1 to 3"},
		{"file name escaping", resealed(t, good, func(p *payload) { p.Files["../../etc/passwd"] = []byte("x") }), passphrase, ErrCorrupt, "../../etc/passwd"},
		{"secrets of another config", resealed(t, good, func(p *payload) { p.Config = append(p.Config, ' ') }), passphrase, nil, "secrets belongs to another save of config"},
		{"config with a field this firmware lacks", unknownField, passphrase, nil, "system.quantum"},
		{"invalid config", invalid, passphrase, nil, "tunnels[1].peer_address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Import(bytes.NewReader(tc.file), tc.pass)
			if err == nil {
				t.Fatalf("Import succeeded: %+v", got.Config)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Import error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.words) {
				t.Errorf("Import error %q does not say %q", err, tc.words)
			}
			for _, s := range []string{psk1, psk2, adminHash, passphrase, tc.pass} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Import error %q shows a secret", err)
				}
			}
			if len(got.Files) != 0 || len(got.Config.Tunnels) != 0 {
				t.Error("Import returned contents with an error")
			}
		})
	}
}

func TestImportFieldErrors(t *testing.T) {
	c := testContents()
	c.Config.Tunnels[0].RemoteNetworks = []config.Prefix{config.MustPrefix("10.1.0.0/16"), {}}
	c.Config.Interfaces[1].Address = config.MustPrefix("198.51.100.20/24") // overlaps the WAN
	_, err := Import(bytes.NewReader(exportTest(t, c, passphrase)), passphrase)
	var fe config.FieldErrors
	if !errors.As(err, &fe) || len(fe) == 0 {
		t.Fatalf("Import of an invalid config = %v, want config.FieldErrors", err)
	}
	if !strings.HasPrefix(err.Error(), "read backup: the backup's config: ") {
		t.Errorf("error %q does not say the problem is in the backup's config", err)
	}
}

func TestExportRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    func(c *Contents)
		pass string
		want string
	}{
		{"short passphrase", func(c *Contents) {}, "short pass", "at least 12 characters"},
		{"file name with ..", func(c *Contents) { c.Files["../x"] = nil }, passphrase, `"../x" is not a plain relative path`},
		{"absolute file name", func(c *Contents) { c.Files["/perm/x"] = nil }, passphrase, "not a plain relative path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testContents()
			tc.c(&c)
			var buf bytes.Buffer
			err := export(&buf, c, tc.pass, fastParams)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("export = %v, want an error saying %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("export wrote %d bytes before refusing", buf.Len())
			}
		})
	}
}

func TestCollectAndWriteFiles(t *testing.T) {
	perm := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(perm, rel)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ziti/router.yml", "v: 3\n")
	write("ziti/identity/key.pem", routerKey)
	write("ziti/identity/cert.pem", "cert")
	write("ziti/identity/.tmp-half-written", "x")
	write("webui/webui-cert.pem", "web cert")
	write("config/config-00000001.json", "{}") // not asked for
	os.Symlink("/etc/passwd", filepath.Join(perm, "ziti/identity/link"))

	got, err := Collect(perm, "ziti/router.yml", "ziti/identity", "webui", "not/there")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{
		"ziti/router.yml":        []byte("v: 3\n"),
		"ziti/identity/key.pem":  []byte(routerKey),
		"ziti/identity/cert.pem": []byte("cert"),
		"webui/webui-cert.pem":   []byte("web cert"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Collect (-want +got):\n%s", diff)
	}
	if _, err := Collect(perm, "../etc"); err == nil {
		t.Error("Collect of ../etc succeeded")
	}

	spare := t.TempDir()
	if err := WriteFiles(spare, got); err != nil {
		t.Fatal(err)
	}
	again, err := Collect(spare, "ziti", "webui")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("files written and read back (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(spare, "ziti/identity/key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("restored key mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if err := WriteFiles(spare, map[string][]byte{"../escape": nil}); err == nil {
		t.Error("WriteFiles outside the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(spare), "escape")); err == nil {
		t.Error("WriteFiles wrote outside the root")
	}
}

// resealed opens file (made with fastParams and passphrase), lets change
// alter the payload, and seals it again as a valid file, the way someone
// with the passphrase or a newer firmware could.
func resealed(t *testing.T, file []byte, change func(p *payload)) []byte {
	t.Helper()
	plain, err := open(bytes.NewReader(file), passphrase, defaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var p payload
	if err := json.Unmarshal(plain, &p); err != nil {
		t.Fatal(err)
	}
	change(&p)
	plain, err = json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	file, err = seal(plain, passphrase, fastParams)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

func TestReplaceDir(t *testing.T) {
	perm := t.TempDir()
	ident := filepath.Join(perm, "ziti", "identity")
	os.MkdirAll(ident, 0o700)
	os.WriteFile(filepath.Join(ident, "key.pem"), []byte("old key"), 0o600)
	os.WriteFile(filepath.Join(ident, "db.proto.gzip"), []byte("old db"), 0o600)
	files := map[string][]byte{
		"ziti/identity/key.pem":         []byte(routerKey),
		"ziti/identity/enrollment.json": []byte("{}"),
		"ziti/identity/sub/x":           []byte("x"),
		"ziti/router.yml":               []byte("not in the dir"),
	}
	if err := ReplaceDir(perm, "ziti/identity", files, ".enroll-", "enrollment.json"); err != nil {
		t.Fatal(err)
	}
	got, err := Collect(perm, "ziti")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{
		"ziti/identity/key.pem":         []byte(routerKey),
		"ziti/identity/enrollment.json": []byte("{}"),
		"ziti/identity/sub/x":           []byte("x"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after ReplaceDir (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Join(perm, "ziti"))
	if len(entries) != 1 || entries[0].Name() != "identity" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("ziti/ holds %v; want only identity (no staging or .old left)", names)
	}
	// Nothing under rel: the directory stays as it is.
	if err := ReplaceDir(perm, "webui", files, ".restore-", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(perm, "webui")); err == nil {
		t.Error("ReplaceDir made a directory the backup has no files for")
	}
}
