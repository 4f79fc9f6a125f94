package webui

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func TestLoadOrCreateCert(t *testing.T) {
	dir := t.TempDir()
	c1, err := LoadOrCreateCert(dir, "192.168.77.1")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, err %v", fi.Mode(), err)
	}
	c2, err := LoadOrCreateCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	f1, f2 := Fingerprint(c1), Fingerprint(c2)
	if f1 != f2 || len(strings.Split(f1, ":")) != 32 {
		t.Errorf("fingerprint changed or malformed: %s vs %s", f1, f2)
	}
	if c1.Leaf == nil || c1.Leaf.PublicKeyAlgorithm.String() != "ECDSA" {
		t.Errorf("want an ECDSA leaf, got %v", c1.Leaf)
	}
}
