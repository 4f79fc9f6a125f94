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
// (default: libreswanLibexec).
func TestLibreswanParses(t *testing.T) {
	dir := os.Getenv("LIBRESWAN_LIBEXEC")
	if dir == "" {
		dir = libreswanLibexec(t)
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

// libreswanLibexec is Debian's libreswan tools' directory: the installed
// package's, or else the package unpacked (never installed: it would
// start pluto beside the tests' strongSwan) into the user's cache, as
// the device VM's image is built from it.
func libreswanLibexec(t *testing.T) string {
	const installed = "/usr/libexec/ipsec"
	if _, err := os.Stat(filepath.Join(installed, "algparse")); err == nil {
		return installed
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return installed
	}
	root := filepath.Join(cache, "tunneler", "libreswan-deb")
	dir := filepath.Join(root, "usr", "libexec", "ipsec")
	if _, err := os.Stat(filepath.Join(dir, "algparse")); err == nil {
		return dir
	}
	tmp := t.TempDir()
	get := exec.Command("apt-get", "download", "libreswan")
	get.Dir = tmp
	if out, err := get.CombinedOutput(); err != nil {
		t.Logf("apt-get download libreswan: %v\n%s", err, out)
		return installed
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "libreswan_*.deb"))
	if len(debs) != 1 {
		return installed
	}
	// Unpacked beside root, then renamed: a run that stops half-way
	// leaves nothing that looks whole.
	unpacked := filepath.Join(tmp, "root")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], unpacked).CombinedOutput(); err != nil {
		t.Logf("unpack %s: %v\n%s", debs[0], err, out)
		return installed
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return installed
	}
	if err := exec.Command("mv", "-T", unpacked, root).Run(); err != nil {
		t.Logf("keep the unpacked libreswan at %s: %v", root, err)
		return installed
	}
	return dir
}
