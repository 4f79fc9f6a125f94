package board

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProfilesLoad(t *testing.T) {
	for _, tc := range []struct{ name, kernelDir string }{
		{"generic", "generic/kernel"},
		{"qemu", "generic/kernel"}, // boots the generic kernel (kernel-board)
	} {
		p, err := Load(tc.name)
		if err != nil {
			t.Fatalf("Load(%q): %v", tc.name, err)
		}
		if len(p.Drivers) == 0 {
			t.Errorf("%s: no drivers", tc.name)
		}
		if p.KernelDir != tc.kernelDir {
			t.Errorf("%s: kernel dir %q, want %q", tc.name, p.KernelDir, tc.kernelDir)
		}
		if !strings.Contains(p.Cmdline, "console=ttyS0") || !strings.Contains(p.Cmdline, "console=tty0") {
			t.Errorf("%s: cmdline %q lacks the serial or VGA console", tc.name, p.Cmdline)
		}
	}
}

func TestGenericCoversTheIssueHardware(t *testing.T) {
	p, err := Load("generic")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range p.Drivers {
		have[m] = true
	}
	for _, want := range []string{"virtio_net", "virtio_blk", "virtio_scsi", "virtio_console", "virtio_rng",
		"e1000", "e1000e", "igb", "igc", "ixgbe", "i40e", "r8169", "vmxnet3", "hv_netvsc",
		"ahci", "nvme", "usb_storage", "mmc_block", "ext4", "vfat", "squashfs", "isofs", "sr_mod", "ata_piix",
		"xfrm_user", "xfrm_interface", "esp4", "nf_tables", "nft_tproxy", "nft_socket",
		"i6300esb", "iTCO_wdt", "button"} {
		if !have[want] {
			t.Errorf("generic board lacks %s", want)
		}
	}
}

// The committed kernel matches its stamp: its config fragment, build script
// and pinned source version are the ones it was built from (gokrazy's
// check). A change to any of them without `make kernel` fails here.
func TestKernelMatchesStamp(t *testing.T) {
	out, err := exec.Command("generic/kernel/build.sh", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("generic/kernel/vmlinuz does not match its stamp (run make kernel and commit): %v\n%s", err, out)
	}
}

// Every driver a board lists is built into the kernel it boots.
func TestKernelHasBoardDrivers(t *testing.T) {
	for _, name := range Names() {
		p, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		builtin, err := os.ReadFile(p.KernelDir + "/vmlinuz.builtin")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if missing := MissingDrivers(p.Drivers, string(builtin)); len(missing) > 0 {
			t.Errorf("%s: kernel %s lacks built-in drivers: %s", name, p.KernelDir, strings.Join(missing, " "))
		}
	}
}

func TestMissingDrivers(t *testing.T) {
	builtin := "kernel/fs/ext4/ext4.ko\nkernel/drivers/net/virtio_net.ko\nkernel/drivers/watchdog/iTCO_wdt.ko\nkernel/crypto/ghash-generic.ko\n"
	got := MissingDrivers([]string{"ext4", "virtio_net", "iTCO_wdt", "ghash_generic", "nvme"}, builtin)
	if d := cmp.Diff([]string{"nvme"}, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestParseDrivers(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
		err        string
	}{
		{name: "names and comments", text: "# NICs\nvirtio-pci # dash\n\next4\n", want: []string{"virtio_pci", "ext4"}},
		{name: "old sections", text: "[early]\next4\n", err: `line 1: "[early]" is not a module name`},
		{name: "duplicate", text: "ghash-generic\nghash_generic\n", err: "line 2: driver ghash_generic already listed on line 1"},
		{name: "path", text: "kernel/fs/ext4.ko\n", err: "is not a module name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDrivers(tc.text)
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
		want := "console=tty0 console=ttyS0,115200n8 quiet panic=10 oops=panic"
		if p.Cmdline != want {
			t.Errorf("%s: cmdline %q, want %q", name, p.Cmdline, want)
		}
	}
}
