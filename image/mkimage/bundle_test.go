package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The signing key is made once under the user's config folder, private,
// and the same key comes back on every later build.
func TestUpdateKeyMadeOnFirstUse(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv(updateKeyVar, "")
	k1, path, err := loadUpdateKey()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cfg, "tunneler", "update-key"); path != want {
		t.Errorf("key at %s, want %s", path, want)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	k2, _, err := loadUpdateKey()
	if err != nil || !k1.Equal(k2) {
		t.Errorf("second load: a different key (%v)", err)
	}
}

// A release key named by the variable must exist: the build never makes
// one in its place.
func TestNamedUpdateKeyMustExist(t *testing.T) {
	t.Setenv(updateKeyVar, filepath.Join(t.TempDir(), "release-key"))
	if _, _, err := loadUpdateKey(); err == nil || !strings.Contains(err.Error(), "release-key") {
		t.Errorf("err = %v, want a missing release-key", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	t.Setenv(updateKeyVar, bad)
	if _, _, err := loadUpdateKey(); err == nil || !strings.Contains(err.Error(), "not a PEM file") {
		t.Errorf("err = %v, want not a PEM file", err)
	}
}
