// Package systest boots the built image in qemu and checks it from the
// outside, as an operator meets the box: the serial console, the power
// button, ctrl-alt-del, a power cut, the disk afterwards.
package systest

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

// Under TCG a Debian kernel reaches userspace in a few seconds; firmware
// (SeaBIOS, OVMF) adds more. These bound a hang, they are not goals.
const (
	bootTimeout     = 120 * time.Second
	shutdownTimeout = 60 * time.Second
)

var (
	bannerRe   = regexp.MustCompile(`Tunneler (\S+) \(slot (\w+), kernel ([^)]+)\)`)
	setupRe    = regexp.MustCompile(`SETUP MODE\. Setup code: (\d{4}-\d{4})`)
	bootLineRe = regexp.MustCompile(`Boot (\d+): ([^\n]*)`)
)

func expect(t testing.TB, vm *vmtest.VM, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	m, err := vm.Console.Expect(re, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// expectBanner waits for the end-of-boot banner and returns it whole.
func expectBanner(t *testing.T, vm *vmtest.VM, slot string) string {
	t.Helper()
	m := expect(t, vm, bannerRe, bootTimeout)
	if m[2] != slot {
		t.Errorf("booted slot %q, want %q", m[2], slot)
	}
	rest := expect(t, vm, regexp.MustCompile(`(?s)^.*?[Pp]ress Enter here for the console menu`), 10*time.Second)
	return m[0] + rest[0]
}

// bootLine returns the banner's "Boot N: ..." line: the count and the rest.
func bootLine(t *testing.T, banner string) (string, string) {
	t.Helper()
	m := bootLineRe.FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("banner has no Boot line:\n%s", banner)
	}
	return m[1], m[2]
}

// menu picks an entry of the console menu and confirms it.
func menu(t *testing.T, vm *vmtest.VM, key string, confirm bool) {
	t.Helper()
	vm.Console.SendLine("")
	expect(t, vm, regexp.MustCompile(`Enter an option:`), 20*time.Second)
	vm.Console.SendLine(key)
	if confirm {
		expect(t, vm, regexp.MustCompile(`Type yes to go on:`), 20*time.Second)
		vm.Console.SendLine("yes")
	}
}

func requireTools(t testing.TB) {
	testenv.RequireCommand(t, "qemu-system-x86_64", "qemu-img", "e2fsck", "dumpe2fs", "debugfs")
}

// One direct-boot box lives through a first boot, a reboot from the console
// menu and a power off from it: /perm is made once, keeps what was written
// to it, and is left consistent when qemu ends.
func TestDirectBootPermSurvivesRebootAndPowerOff(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct})

	banner := expectBanner(t, vm, "direct")
	if !strings.Contains(banner, "(made on this first boot)") {
		t.Errorf("first boot did not make /perm:\n%s", banner)
	}
	if n, _ := bootLine(t, banner); n != "1" {
		t.Errorf("first boot is counted as boot %s", n)
	}
	if !setupRe.MatchString(banner) {
		t.Errorf("no setup code on the console of an unconfigured box")
	}
	if strings.Contains(banner, "PROBLEM") {
		t.Errorf("a clean first boot reports problems:\n%s", banner)
	}

	menu(t, vm, "9", true) // Reboot
	expect(t, vm, regexp.MustCompile(`/perm unmounted cleanly`), shutdownTimeout)
	n, how := bootLine(t, expectBanner(t, vm, "direct"))
	if n != "2" || !strings.Contains(how, "was clean") {
		t.Errorf("after a reboot from the menu: boot %s, %q; want boot 2, clean", n, how)
	}
	if strings.Count(vm.Console.Output(), "(made on this first boot)") != 1 {
		t.Errorf("/perm was made again on the second boot")
	}

	menu(t, vm, "0", true) // Power off
	if err := vm.Wait(shutdownTimeout); err != nil {
		t.Fatalf("power off from the menu did not end qemu: %v", err)
	}
	img := vm.PermImage(t)
	vmtest.CheckPermClean(t, img)
	if rec := vmtest.ReadPermFile(t, img, "/state/boot.json"); !strings.Contains(rec, `"boots":2`) || !strings.Contains(rec, `"clean_shutdown":true`) {
		t.Errorf("boot record on /perm = %s; want 2 boots, clean", rec)
	}
	if seed := vmtest.ReadPermFile(t, img, "/random-seed"); len(seed) != 512 {
		t.Errorf("entropy seed on /perm is %d bytes, want 512", len(seed))
	}
}

// machines are the chipsets every firmware path is booted on: qemu's pc
// (i440FX) and q35 (ICH9, libvirt's default for new VMs). They differ in
// the buses, the ACPI tables and the watchdogs the box finds.
var machines = []vmtest.Machine{vmtest.PC, vmtest.Q35}

// Legacy BIOS: SeaBIOS, gptmbr.bin, syslinux from the ESP, slot a, on each
// machine type. The watchdog is armed, and the ACPI power button then
// powers off cleanly. On pc the disk is the shipped VMDK converted back
// to raw with qemu-img (VMware's and VirtualBox's disk boots under BIOS).
func TestBIOSBootAndPowerButton(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	for _, m := range machines {
		t.Run(string(m), func(t *testing.T) {
			var base string
			if m == vmtest.PC {
				base = im.ConvertedBack(t, "disk.vmdk", "vmdk")
			}
			vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.BIOS, Machine: m, Base: base})
			expectBanner(t, vm, "a")
			expect(t, vm, regexp.MustCompile(`watchdog armed`), 20*time.Second)
			powerButtonPowersOff(t, vm)
		})
	}
}

// powerButtonPowersOff presses the ACPI power button of a booted box and
// expects a clean power off, whichever input device reports the press.
func powerButtonPowersOff(t *testing.T, vm *vmtest.VM) {
	t.Helper()
	watching := regexp.MustCompile(`power button: watching[^\n]*`).FindAllString(vm.Console.Output(), -1)
	if len(watching) == 0 {
		t.Fatalf("init does not watch the power button:\n%s", vm.Console.Tail(40))
	}
	t.Logf("%s: %s", vm.Opts.Machine, strings.Join(watching, "; "))
	if err := vm.PowerButton(); err != nil {
		t.Fatal(err)
	}
	expect(t, vm, regexp.MustCompile(`shutting down.*reason="power button"`), shutdownTimeout)
	if err := vm.Wait(shutdownTimeout); err != nil {
		t.Fatalf("power button did not power off: %v", err)
	}
	vmtest.CheckPermClean(t, vm.PermImage(t))
}

// UEFI: OVMF, systemd-boot from the ESP, slot a, on each machine type.
// Ctrl-alt-del reboots cleanly, the box comes back with its watchdog
// armed, and the power button then powers it off cleanly. On q35 the disk
// is the shipped VHDX converted back to raw with qemu-img (Hyper-V
// generation 2 boots it under UEFI).
func TestUEFIBootAndCtrlAltDel(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	for _, m := range machines {
		t.Run(string(m), func(t *testing.T) {
			var base string
			if m == vmtest.Q35 {
				base = im.ConvertedBack(t, "disk.vhdx", "vhdx")
			}
			vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.UEFI, Machine: m, Base: base})
			expectBanner(t, vm, "a")
			expect(t, vm, regexp.MustCompile(`watchdog armed`), 20*time.Second)
			if err := vm.CtrlAltDel(); err != nil {
				t.Fatal(err)
			}
			expect(t, vm, regexp.MustCompile(`shutting down.*reason=ctrl-alt-del`), shutdownTimeout)
			expect(t, vm, regexp.MustCompile(`/perm unmounted cleanly`), shutdownTimeout)
			if n, how := bootLine(t, expectBanner(t, vm, "a")); n != "2" || !strings.Contains(how, "was clean") {
				t.Errorf("after ctrl-alt-del: boot %s, %q; want boot 2, clean", n, how)
			}
			expect(t, vm, regexp.MustCompile(`watchdog armed`), 20*time.Second)
			powerButtonPowersOff(t, vm)
		})
	}
}

// A supervision loop that stops must end in a reset by the hardware
// watchdog, and the next boot says the last one did not end cleanly; on
// each machine type, since q35 brings a watchdog of its own (ICH9's TCO)
// next to the i6300esb.
func TestWatchdogResetsHungInit(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	for _, m := range machines {
		t.Run(string(m), func(t *testing.T) {
			vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Machine: m, Append: "tunneler.debug=hang tunneler.watchdog=5"})
			expectBanner(t, vm, "direct")
			armed := expect(t, vm, regexp.MustCompile(`watchdog armed[^\n]*\n`), 20*time.Second)
			t.Logf("%s: %s", m, strings.TrimSpace(armed[0]))
			expect(t, vm, regexp.MustCompile(`supervision loop stops here`), 20*time.Second)
			// No clean shutdown may happen: the next thing is a fresh kernel.
			got := expect(t, vm, regexp.MustCompile(`(/perm unmounted cleanly|Tunneler \S+ starting)`), 90*time.Second)
			if strings.Contains(got[0], "unmounted") {
				t.Fatal("the box shut down cleanly instead of being reset by the watchdog")
			}
			if n, how := bootLine(t, expectBanner(t, vm, "direct")); n != "2" || !strings.Contains(how, "NOT clean") {
				t.Errorf("after a watchdog reset: boot %s, %q; want boot 2, not clean", n, how)
			}
		})
	}
}

// PID 1 dying panics the kernel; the box must reboot by itself.
func TestRebootAfterKernelPanic(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Append: "tunneler.debug=panic"})
	expectBanner(t, vm, "direct")
	expect(t, vm, regexp.MustCompile(`Kernel panic - not syncing`), 30*time.Second)
	expect(t, vm, regexp.MustCompile(`Rebooting in \d+ seconds`), 10*time.Second)
	expectBanner(t, vm, "direct")
}

// A damaged /perm (garbage where the filesystem was) must not stop the
// boot or be reformatted: the console says what is wrong and the box comes
// up in setup mode. The garbage is still there after a power off.
func TestDamagedPermIsReportedNotReformatted(t *testing.T) {
	requireTools(t)
	testenv.RequireCommand(t, "qemu-io")
	im := vmtest.LoadImage(t)
	disk := t.TempDir() + "/damaged.qcow2"
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", im.Qcow2(), disk)
	off := im.Manifest.PermOffset
	run(t, "qemu-io", "-f", "qcow2", "-c", "write -P 0xde "+itoa(off)+" 64k", disk)

	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk})
	out := expectBanner(t, vm, "direct")
	for _, want := range []string{"no readable filesystem", "left as it is", "NOT MOUNTED", "SETUP MODE"} {
		if !strings.Contains(out, want) {
			t.Errorf("console does not say %q:\n%s", want, vm.Console.Tail(40))
		}
	}
	// The menu offers the format, but nothing happens unless asked.
	vm.Console.SendLine("")
	expect(t, vm, regexp.MustCompile(`8\) Format /perm`), 20*time.Second)
	menu(t, vm, "0", true)
	if err := vm.Wait(shutdownTimeout); err != nil {
		t.Fatal(err)
	}
	run(t, "qemu-io", "-f", "qcow2", "-c", "read -P 0xde "+itoa(off)+" 64k", disk)
}

// A disk with no /perm partition at all (or no disk) boots to setup mode.
func TestMissingPermBootsToSetupMode(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	disk := t.TempDir() + "/blank.qcow2"
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", disk, "64M")
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk})
	out := expectBanner(t, vm, "direct")
	for _, want := range []string{`no data partition (GPT partition named "perm")`, "SETUP MODE"} {
		if !strings.Contains(out, want) {
			t.Errorf("console does not say %q:\n%s", want, vm.Console.Tail(40))
		}
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
