package kmod

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMatchAndResolve(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "modules.alias"), []byte(
		"# Aliases extracted from modules themselves.\n"+
			"alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_net\n"+
			"alias pci:v00008086d000025ABsv*sd*bc*sc*i* i6300esb\n"+
			"alias crypto-gcm(aes) gcm\n"+
			"alias net-pf-16-proto-6 xfrm_user\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "modules.dep"), nil, 0o644)
	as, err := readAliases(filepath.Join(dir, "modules.alias"))
	if err != nil {
		t.Fatal(err)
	}
	l := &Loader{dir: dir, aliases: as, loaded: map[string]bool{}, Took: map[string]time.Duration{}}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00", []string{"virtio_net"}},
		{"pci:v00008086d000025ABsv00001AF4sd00001100bc08sc80i00", []string{"i6300esb"}},
		{"pci:v00001234d00001111sv00001AF4sd00001100bc03sc00i00", nil},
	} {
		if d := cmp.Diff(tc.want, l.Match(tc.in)); d != "" {
			t.Errorf("Match(%s) (-want +got)\n%s", tc.in, d)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"net-pf-16-proto-6", "xfrm_user"},
		{"ghash-generic", "ghash_generic"},
	} {
		if got := l.Resolve(tc.in); len(got) != 1 || got[0] != tc.want {
			t.Errorf("Resolve(%s) = %v, want %s", tc.in, got, tc.want)
		}
	}
}

func TestModaliasesWalksSysfs(t *testing.T) {
	root := t.TempDir()
	dev := filepath.Join(root, "devices", "pci0000:00", "0000:00:03.0")
	os.MkdirAll(dev, 0o755)
	os.WriteFile(filepath.Join(dev, "modalias"), []byte("pci:v00001AF4d00001000\n"), 0o644)
	os.WriteFile(filepath.Join(root, "devices", "empty"), nil, 0o644)
	if d := cmp.Diff([]string{"pci:v00001AF4d00001000"}, modaliases(root)); d != "" {
		t.Error(d)
	}
}
