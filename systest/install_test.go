package systest

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

// Issue 19's installer: a PC boots the USB stick (the built disk, with a
// tunneler.env on its ESP) beside a blank internal disk and a disk too
// small. The console menu refuses the stick and the small disk, then
// installs onto the internal disk. With the stick removed, the internal
// disk boots under UEFI and then under BIOS, with the stick's config.
func TestInstallFromUSBStick(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	env := "IPSEC_REMOTEIP=192.0.2.2\nIPSEC_REMOTENET=10.9.0.0/24\nIPSEC_PSK='" + sitePSK + "'\n"
	stick := diskWithESPFile(t, im, "tunneler.env", env)
	dir := t.TempDir()
	internal := filepath.Join(dir, "internal.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", internal, "2G")
	small := filepath.Join(dir, "small.img")
	run(t, "truncate", "-s", "100M", small)

	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.UEFI, Disk: internal, MemoryMiB: 768,
		Drives: []vmtest.Drive{{File: small}, {File: stick, Qcow2: true, USB: true}}})
	expectBanner(t, vm, "a")
	if !strings.Contains(vm.Console.Output(), "provisioning: imported tunneler.env from the ESP") {
		t.Fatalf("the stick's tunneler.env was not imported:\n%s", vm.Console.Tail(60))
	}

	installDialog := func(disk string) {
		menu(t, vm, "20", false)
		expect(t, vm, regexp.MustCompile(`Name of the disk to install to`), 20*time.Second)
		vm.Console.SendLine(disk)
	}
	installDialog("sda")
	expect(t, vm, regexp.MustCompile(`Refused: sda: the box runs from this disk`), 20*time.Second)
	installDialog("vdb")
	expect(t, vm, regexp.MustCompile(`Refused: vdb: the disk is too small: it holds 100 MiB`), 20*time.Second)
	installDialog("vda")
	expect(t, vm, regexp.MustCompile(`Type vda again to go on:`), 20*time.Second)
	vm.Console.SendLine("vda")
	expect(t, vm, regexp.MustCompile(`written \d+ of \d+ MiB \(50%\)`), 5*time.Minute)
	expect(t, vm, regexp.MustCompile(`The config and the router's identity were copied across`), 5*time.Minute)
	expect(t, vm, regexp.MustCompile(`UEFI boot entry Boot[0-9A-F]{4} \(Tunneler\) added`), time.Minute)
	expect(t, vm, regexp.MustCompile(`Installed on vda\. Remove the stick and reboot`), time.Minute)
	menu(t, vm, "0", true)
	if err := vm.Wait(shutdownTimeout); err != nil {
		t.Fatal(err)
	}

	// The stick is out: the internal disk boots, under UEFI and then BIOS.
	for i, fw := range []vmtest.Firmware{vmtest.UEFI, vmtest.BIOS} {
		vm := vmtest.Start(t, im, vmtest.Options{Firmware: fw, Disk: internal})
		expectBanner(t, vm, "a")
		out := vm.Console.Output()
		if i == 0 && !regexp.MustCompile(`provisioning: imported tunneler-backup from the ESP as config generation \d+`).MatchString(out) {
			t.Errorf("%s: the config carried across was not restored:\n%s", fw, vm.Console.Tail(60))
		}
		if !regexp.MustCompile(`config: [^\n]*1 tunnels\)`).MatchString(out) {
			t.Errorf("%s: the installed box does not have the stick's tunnel:\n%s", fw, vm.Console.Tail(60))
		}
		menu(t, vm, "0", true)
		if err := vm.Wait(shutdownTimeout); err != nil {
			t.Fatal(err)
		}
	}
}
