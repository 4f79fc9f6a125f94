package board

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProfilesLoad(t *testing.T) {
	for _, name := range []string{"generic", "qemu"} {
		p, err := Load(name)
		if err != nil {
			t.Fatalf("Load(%q): %v", name, err)
		}
		if len(p.Early) == 0 || len(p.Hardware) == 0 || len(p.Late) == 0 {
			t.Errorf("%s: a section is empty: %+v", name, p)
		}
		if !strings.Contains(p.Cmdline, "console=ttyS0") || !strings.Contains(p.Cmdline, "console=tty0") {
			t.Errorf("%s: cmdline %q lacks the serial or VGA console", name, p.Cmdline)
		}
	}
}

func TestGenericCoversTheIssueHardware(t *testing.T) {
	p, err := Load("generic")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range p.All() {
		have[m] = true
	}
	for _, want := range []string{"virtio_net", "e1000", "e1000e", "igb", "ixgbe", "r8169",
		"ahci", "nvme", "virtio_blk", "usb_storage", "i6300esb", "iTCO_wdt",
		"isofs", "sr_mod", "ata_piix"} { // a config drive's ISO on a CD-ROM drive
		if !have[want] {
			t.Errorf("generic board lacks %s", want)
		}
	}
}

func TestParseModules(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       Profile
		err        string
	}{
		{name: "sections", text: "[early]\next4 # fs\n[hardware]\nvirtio-pci\n[late]\nesp4\n",
			want: Profile{Early: []string{"ext4"}, Hardware: []string{"virtio_pci"}, Late: []string{"esp4"}}},
		{name: "before section", text: "ext4\n", err: "line 1: module \"ext4\" before any section"},
		{name: "unknown section", text: "[boot]\n", err: "line 1: unknown section [boot]"},
		{name: "duplicate", text: "[early]\nghash-generic\n[late]\nghash_generic\n", err: "line 4: module ghash_generic already listed on line 2"},
		{name: "path", text: "[early]\nkernel/fs/ext4.ko\n", err: "is not a module name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseModules(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestParseCmdline(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"console=ttyS0 quiet\n", "console=ttyS0 quiet"},
		{"# why\nconsole=tty0 console=ttyS0\n\n  quiet # trailing\npanic=10\n", "console=tty0 console=ttyS0 quiet panic=10"},
		{"# only comments\n", ""},
	} {
		if got := ParseCmdline(tc.in); got != tc.want {
			t.Errorf("ParseCmdline(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The boards' command lines keep the words boot and memory rely on, in
// the order that makes ttyS0 /dev/console.
func TestCmdlineWords(t *testing.T) {
	for _, name := range []string{"generic", "qemu"} {
		p, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		want := "console=tty0 console=ttyS0,115200n8 quiet panic=10 oops=panic transparent_hugepage=never"
		if p.Cmdline != want {
			t.Errorf("%s: cmdline %q, want %q", name, p.Cmdline, want)
		}
	}
}
