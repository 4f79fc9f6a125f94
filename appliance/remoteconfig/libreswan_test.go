package remoteconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// TestLibreswanParses feeds the libreswan exports to libreswan's own
// parsers: algparse for the ike= and esp= lists (as IKEv1 or IKEv2, with
// PFS as the export sets it) and addconn --checkconfig for the conn
// section's keywords. LIBRESWAN_LIBEXEC names the directory with both
// (default /usr/libexec/ipsec, Debian's libreswan package).
func TestLibreswanParses(t *testing.T) {
	dir := os.Getenv("LIBRESWAN_LIBEXEC")
	if dir == "" {
		dir = "/usr/libexec/ipsec"
	}
	algparse, addconn := filepath.Join(dir, "algparse"), filepath.Join(dir, "addconn")
	for _, p := range []string{algparse, addconn} {
		if _, err := os.Stat(p); err != nil {
			testenv.Skip(t, "needs libreswan's "+p+" (Debian package libreswan, or LIBRESWAN_LIBEXEC)")
		}
	}
	for name, tunnel := range testTunnels(t) {
		out := render(t, tunnel, "libreswan")
		conf, _, _ := strings.Cut(out, "\n\n") // the conn, without the secrets line
		args := []string{"-v2", "-pfs=yes"}
		if strings.Contains(conf, "ikev2=no") {
			args[0] = "-v1"
		}
		if strings.Contains(conf, "pfs=no") {
			args[1] = "-pfs=no"
		}
		for _, line := range strings.Split(conf, "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "ike=") || strings.HasPrefix(l, "esp=") {
				args = append(args, l)
			}
		}
		if b, err := exec.Command(algparse, args...).CombinedOutput(); err != nil || strings.Contains(string(b), "ERROR") {
			t.Errorf("%s: algparse %s: %v\n%s", name, strings.Join(args, " "), err, b)
		}
		file := filepath.Join(t.TempDir(), "ipsec.conf")
		if err := os.WriteFile(file, []byte("config setup\n\tlogfile=/dev/null\n\n"+conf+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(addconn, "--config", file, "--checkconfig").CombinedOutput(); err != nil {
			t.Errorf("%s: addconn --checkconfig: %v\n%s\n%s", name, err, b, conf)
		}
	}
}
