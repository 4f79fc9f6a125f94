package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "config"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSave(t *testing.T, s *Store, c Config) int {
	t.Helper()
	n, err := s.Save(c)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	return n
}

// withHostname returns the valid config with a hostname that tells saves apart.
func withHostname(h string) Config {
	c := validConfig()
	c.System.Hostname = h
	return c
}

func TestStoreSaveLoad(t *testing.T) {
	s := newStore(t)
	if _, _, err := s.Load(); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("Load of an empty store: %v, want ErrNoConfig", err)
	}
	want := validConfig()
	if n := mustSave(t, s, want); n != 1 {
		t.Errorf("first Save = generation %d, want 1", n)
	}
	got, info, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	if info.Seq != 1 || info.FellBack() || info.String() != "loaded config generation 1" {
		t.Errorf("LoadInfo = %+v (%s)", info, info)
	}
	entries, _ := os.ReadDir(s.Dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"config-00000001.json", "meta-00000001.json", "secrets-00000001.json"}, names); diff != "" {
		t.Errorf("files in the store (-want +got):\n%s", diff)
	}
}

func TestStoreSecretsFile(t *testing.T) {
	s := newStore(t)
	mustSave(t, s, validConfig())
	doc, err := os.ReadFile(filepath.Join(s.Dir, docName(1)))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := os.ReadFile(filepath.Join(s.Dir, secretsName(1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{strongPSK1, strongPSK2, argonHash} {
		if strings.Contains(string(doc), secret) {
			t.Errorf("main document contains a secret:\n%s", doc)
		}
		if !strings.Contains(string(sec), secret) {
			t.Errorf("secrets file lacks a secret it must keep")
		}
	}
	if !strings.Contains(string(doc), `"psk": "(hidden)"`) {
		t.Errorf("main document should mark where a secret goes:\n%s", doc)
	}
	fi, err := os.Stat(filepath.Join(s.Dir, secretsName(1)))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode = %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(s.Dir); di.Mode().Perm() != 0o700 {
		t.Errorf("store dir mode = %v, want 0700", di.Mode().Perm())
	}
}

func TestStoreRefusesInvalid(t *testing.T) {
	s := newStore(t)
	c := validConfig()
	c.Tunnels[0].PSK = NewSecret("short")
	_, err := s.Save(c)
	var fe FieldErrors
	if !errors.As(err, &fe) || fe[0].Field != "tunnels[0].psk" {
		t.Fatalf("Save(invalid) = %v, want FieldErrors", err)
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
		t.Errorf("Save of an invalid config left %d files", len(entries))
	}
}

func TestStoreKeepsGenerationsAndRollsBack(t *testing.T) {
	s := newStore(t)
	s.Keep = 5
	for i := 1; i <= 7; i++ {
		mustSave(t, s, withHostname("gen-"+string(rune('0'+i))))
	}
	gens, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for _, g := range gens {
		if g.Problem != nil {
			t.Errorf("generation %d: %v", g.Seq, g.Problem)
		}
		seqs = append(seqs, g.Seq)
	}
	if diff := cmp.Diff([]int{7, 6, 5, 4, 3}, seqs); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 15 {
		t.Errorf("store holds %d files, want 15 (5 documents, 5 secrets files, 5 meta files)", len(entries))
	}

	n, err := s.Rollback(4)
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("Rollback saved generation %d, want 8", n)
	}
	c, info, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.System.Hostname != "gen-4" || info.Seq != 8 {
		t.Errorf("after Rollback(4): hostname %q from generation %d", c.System.Hostname, info.Seq)
	}
	if c.Tunnels[0].PSK.Reveal() != strongPSK1 {
		t.Error("Rollback lost the secrets")
	}
	if _, err := s.Rollback(1); err == nil {
		t.Error("Rollback to a pruned generation succeeded")
	}
}

// TestStoreFallsBack breaks the newest generation the ways a power cut or a
// bad disk can, and checks Load takes the previous one and says so.
func TestStoreFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, dir string)
		why    string
	}{
		{"empty document", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, docName(2)), 0) }, "ends early"},
		{"torn document", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, docName(2)), 100) }, "ends early"},
		{"garbage document", func(t *testing.T, dir string) { write(t, filepath.Join(dir, docName(2)), "\x00\x00\x00\x00") }, "not valid JSON"},
		{"document from the future", func(t *testing.T, dir string) { write(t, filepath.Join(dir, docName(2)), `{"version": 99}`) }, "newer firmware"},
		{"secrets missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, secretsName(2))) }, "secrets"},
		{"secrets torn", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, secretsName(2)), 10) }, "is not valid JSON"},
		{"secrets of another save", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, secretsName(1)))
			write(t, filepath.Join(dir, secretsName(2)), string(b))
		}, "belongs to another save"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			mustSave(t, s, withHostname("old"))
			mustSave(t, s, withHostname("new"))
			tc.break_(t, s.Dir)
			c, info, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			if c.System.Hostname != "old" || info.Seq != 1 || !info.FellBack() || info.Skipped[0].Seq != 2 {
				t.Fatalf("Load = %q from %+v, want the old generation and a fallback", c.System.Hostname, info)
			}
			if msg := info.String(); !strings.Contains(msg, "loaded config generation 1; newer generations were unreadable (generation 2: ") || !strings.Contains(msg, tc.why) {
				t.Errorf("LoadInfo.String() = %q, want it to say why (%q)", msg, tc.why)
			}
			for _, secret := range []string{strongPSK1, strongPSK2, argonHash} {
				if strings.Contains(info.String(), secret) {
					t.Error("the fallback message leaks a secret")
				}
			}
			// The next save goes on from the newest number, never reusing it.
			if n := mustSave(t, s, withHostname("newer")); n != 3 {
				t.Errorf("Save after a fallback = generation %d, want 3", n)
			}
		})
	}
}

func TestStoreAllUnreadable(t *testing.T) {
	s := newStore(t)
	mustSave(t, s, validConfig())
	truncate(t, filepath.Join(s.Dir, docName(1)), 3)
	if _, _, err := s.Load(); err == nil || errors.Is(err, ErrNoConfig) {
		t.Errorf("Load with only a broken generation = %v, want an error that is not ErrNoConfig", err)
	}
}

// TestStoreCrashMidSave leaves the directory as a power cut at each step of
// Save would, and checks that Load returns the previous generation without
// calling it a fallback (the new one never became visible), and that the
// next Save cleans up.
func TestStoreCrashMidSave(t *testing.T) {
	for _, tc := range []struct {
		name  string
		crash func(dir string)
	}{
		{"while writing secrets", func(dir string) {
			os.WriteFile(filepath.Join(dir, tempPrefix+secretsName(2)+"-123"), []byte(`{"tunnel_p`), 0o600)
		}},
		{"after secrets, before document", func(dir string) { copyFile(filepath.Join(dir, secretsName(1)), filepath.Join(dir, secretsName(2))) }},
		{"after secrets and meta, before document", func(dir string) {
			copyFile(filepath.Join(dir, secretsName(1)), filepath.Join(dir, secretsName(2)))
			copyFile(filepath.Join(dir, metaName(1)), filepath.Join(dir, metaName(2)))
		}},
		{"while writing meta", func(dir string) {
			copyFile(filepath.Join(dir, secretsName(1)), filepath.Join(dir, secretsName(2)))
			os.WriteFile(filepath.Join(dir, tempPrefix+metaName(2)+"-789"), []byte(`{"sav`), 0o600)
		}},
		{"while writing document", func(dir string) {
			copyFile(filepath.Join(dir, secretsName(1)), filepath.Join(dir, secretsName(2)))
			os.WriteFile(filepath.Join(dir, tempPrefix+docName(2)+"-456"), []byte(`{"vers`), 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			mustSave(t, s, withHostname("old"))
			tc.crash(s.Dir)
			c, info, err := s.Load()
			if err != nil || c.System.Hostname != "old" || info.Seq != 1 || info.FellBack() {
				t.Fatalf("Load = %q, %+v, %v; want generation 1, no fallback", c.System.Hostname, info, err)
			}
			if n := mustSave(t, s, withHostname("new")); n != 2 {
				t.Errorf("Save = generation %d, want 2", n)
			}
			entries, _ := os.ReadDir(s.Dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), tempPrefix) {
					t.Errorf("leftover %s not cleaned up", e.Name())
				}
			}
			c, info, err = s.Load()
			if err != nil || c.System.Hostname != "new" || info.Seq != 2 {
				t.Errorf("Load after recovery = %q, %+v, %v", c.System.Hostname, info, err)
			}
		})
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyFile(from, to string) {
	b, _ := os.ReadFile(from)
	os.WriteFile(to, b, 0o600)
}
