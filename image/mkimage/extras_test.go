package main

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/scripts/testenv"
)

// The image must carry exactly the plugins strongswan.conf loads: a plugin
// listed but missing fails charon's start; one carried but not loaded is
// dead weight.
func TestExtrasCarryTheLoadedPlugins(t *testing.T) {
	list, _, err := readExtras(filepath.Join("..", "extras"), t.TempDir())
	if err != nil && !strings.Contains(err.Error(), "is missing") {
		t.Fatal(err)
	}
	if err != nil {
		testenv.Skip(t, "strongSwan is not installed here: "+err.Error())
	}
	var carried []string
	for _, e := range list {
		base := filepath.Base(e.dst)
		if name, ok := strings.CutPrefix(base, "libstrongswan-"); ok {
			carried = append(carried, strings.TrimSuffix(name, ".so"))
		}
	}
	want := append([]string(nil), ipsec.Plugins...)
	sort.Strings(carried)
	sort.Strings(want)
	if d := cmp.Diff(want, carried); d != "" {
		t.Errorf("image/extras plugins differ from ipsec.Plugins (-want +got)\n%s", d)
	}
}

func TestLibDestination(t *testing.T) {
	for in, want := range map[string]string{
		"/lib/x86_64-linux-gnu/libc.so.6":          "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libcrypto.so.3": "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
		"/lib64/ld-linux-x86-64.so.2":              "/usr/lib64/ld-linux-x86-64.so.2",
	} {
		if got := libDestination(in); got != want {
			t.Errorf("libDestination(%s) = %s, want %s", in, got, want)
		}
	}
}
