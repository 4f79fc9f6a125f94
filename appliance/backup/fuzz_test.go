package backup

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
)

// fuzzLimits keeps each run cheap: a mutated header may ask for any cost,
// and the fuzzer should spend its time on parsing, not on argon2id.
var fuzzLimits = limits{MaxTime: 2, MaxMemory: 256}

// FuzzImport feeds arbitrary files to the reader: it must never panic,
// every error must be one an operator can be told (a sentinel, or the
// backup's config failing to decode or validate), no error may show the
// passphrase or a secret, and whatever it accepts must be a valid config
// that exports and imports again.
func FuzzImport(f *testing.F) {
	good := exportTest(f, testContents(), passphrase)
	f.Add(good, passphrase)
	f.Add(good, "wrong passphrase!")
	f.Add(good[:headerLen+3], passphrase)
	f.Add([]byte(magic), passphrase)
	f.Add([]byte(`{"version": 3}`), passphrase)
	empty := exportTest(f, Contents{Config: config.Config{Version: config.CurrentVersion}}, passphrase)
	f.Add(empty, passphrase)
	f.Fuzz(func(t *testing.T, file []byte, pass string) {
		got, err := importWith(bytes.NewReader(file), pass, fuzzLimits)
		if err != nil {
			var de *config.DecodeError
			var fe config.FieldErrors
			known := errors.Is(err, ErrNotBackup) || errors.Is(err, ErrTruncated) || errors.Is(err, ErrCorrupt) ||
				errors.Is(err, ErrWrongPassphrase) || errors.Is(err, ErrNewerFormat) ||
				errors.As(err, &de) || errors.As(err, &fe) || strings.Contains(err.Error(), "secrets")
			if !known {
				t.Fatalf("Import error of no known kind: %v", err)
			}
			for _, s := range []string{psk1, psk2, adminHash} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("Import error shows a secret: %v", err)
				}
			}
			if len(pass) >= 8 && strings.Contains(err.Error(), pass) && !bytes.Contains(file, []byte(pass)) {
				t.Fatalf("Import error shows the passphrase: %v", err)
			}
			return
		}
		if errs := got.Config.Validate(); len(errs) > 0 {
			t.Fatalf("Import accepted an invalid config: %v", errs)
		}
		if len(pass) < MinPassphrase {
			return // a file from elsewhere; Export would refuse the passphrase
		}
		again, err := importWith(bytes.NewReader(exportTest(t, got, pass)), pass, fuzzLimits)
		if err != nil {
			t.Fatalf("re-import of an accepted backup: %v", err)
		}
		if !equalContents(got, again) {
			t.Fatalf("re-import differs")
		}
	})
}

func equalContents(a, b Contents) bool {
	da, sa, _ := config.EncodeWithSecrets(a.Config)
	db, sb, _ := config.EncodeWithSecrets(b.Config)
	if !bytes.Equal(da, db) || !bytes.Equal(sa, sb) || len(a.Files) != len(b.Files) {
		return false
	}
	for k, v := range a.Files {
		if !bytes.Equal(v, b.Files[k]) {
			return false
		}
	}
	return true
}
