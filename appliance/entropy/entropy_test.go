package entropy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestRestoreMixesAndReplacesSeed(t *testing.T) {
	dir := t.TempDir()
	seedPath := filepath.Join(dir, "random-seed")
	pool := filepath.Join(dir, "urandom")
	os.WriteFile(pool, nil, 0o644)

	found, err := Restore(seedPath, pool)
	if err != nil || found {
		t.Fatalf("first boot: found=%v err=%v, want no seed and no error", found, err)
	}
	first, _ := os.ReadFile(seedPath)
	if len(first) != seedSize {
		t.Fatalf("seed is %d bytes, want %d", len(first), seedSize)
	}
	if fi, _ := os.Stat(seedPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("seed mode %v, want 0600", fi.Mode().Perm())
	}

	found, err = Restore(seedPath, pool)
	if err != nil || !found {
		t.Fatalf("second boot: found=%v err=%v", found, err)
	}
	mixed, _ := os.ReadFile(pool)
	if !bytes.Equal(mixed, first) {
		t.Error("the saved seed was not written to the pool")
	}
	second, _ := os.ReadFile(seedPath)
	if bytes.Equal(first, second) {
		t.Error("the seed was not replaced after use")
	}
}
