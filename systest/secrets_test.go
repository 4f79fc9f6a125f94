package systest

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

// TestMain runs the tests, then the secrets check: no PSK, password,
// passphrase or enrollment token a test registered (vmtest.RegisterSecret)
// may appear in anything the tests kept under build/artifacts. It runs
// after every test of the run, so it is the last thing `make test` does
// in this package; a leak fails the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := checkSecrets(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: secrets check:", err)
		code = 1
	}
	os.Exit(code)
}

// checkSecrets looks for the registered secrets in build/artifacts. With
// no artifacts (no system test ran) there is nothing to check.
func checkSecrets() error {
	build, err := vmtest.BuildDir()
	if err != nil {
		return nil
	}
	dir := filepath.Join(build, "artifacts")
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	secrets, err := vmtest.RegisteredSecrets()
	if err != nil {
		return err
	}
	leaks, err := vmtest.LeakedSecrets(dir, secrets)
	if err != nil {
		return fmt.Errorf("look for secrets in %s: %w", dir, err)
	}
	if len(leaks) == 0 {
		if testing.Verbose() {
			fmt.Printf("secrets check: none of %d registered secrets in %s\n", len(secrets), dir)
		}
		return nil
	}
	for _, l := range leaks {
		fmt.Fprintln(os.Stderr, "secret leaked:", l)
	}
	return fmt.Errorf("%d registered secrets found under %s", len(leaks), dir)
}

// adminHash hashes an admin password for a tunneler.json and registers the
// password: the tests type it on the console and post it to the web UI.
func adminHash(t testing.TB, password string) string {
	t.Helper()
	hash, err := adminpw.Hash(vmtest.RegisterSecret(password))
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// secretFields are the web UI's form fields that carry secrets.
var secretFields = []string{"password", "confirm", "psk", "passphrase", "backup_passphrase", "backup_passphrase2", "jwt", "key"}

// registerSecretFields registers the values of v's secret fields before a
// test posts them.
func registerSecretFields(v url.Values) {
	for _, f := range secretFields {
		for _, s := range v[f] {
			vmtest.RegisterSecret(s)
		}
	}
}
