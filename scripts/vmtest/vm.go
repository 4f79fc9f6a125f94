package vmtest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// Firmware is how the VM boots.
type Firmware string

const (
	Direct Firmware = "direct" // qemu -kernel/-initrd: fastest, /perm still on the disk
	BIOS   Firmware = "bios"   // SeaBIOS → gptmbr.bin → syslinux on the ESP
	UEFI   Firmware = "uefi"   // OVMF → systemd-boot on the ESP
)

// Machine is qemu's machine type: the chipset the box finds.
type Machine string

const (
	PC  Machine = "pc"  // i440FX + PIIX: qemu's default, and our oldest
	Q35 Machine = "q35" // ICH9 + PCIe: libvirt's and virt-manager's default for new VMs
)

const (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS.fd"
)

// NIC is one network card, attached to a bridge of the VM's Lab.
type NIC struct {
	Bridge string // bridge in the lab namespace
	MAC    string // empty: qemu picks
	Model  string // virtio-net-pci by default; e1000 to test that driver
}

// Drive is a disk or CD-ROM after the boot disk.
type Drive struct {
	File  string // a raw image (an ISO for a CD-ROM), or qcow2 when Qcow2
	Qcow2 bool
	CDROM bool // the machine's CD-ROM drive (IDE on pc, AHCI on q35)
	USB   bool // a USB stick (usb-storage on an xHCI controller)
	// else a virtio disk
}

// Options describe one VM.
type Options struct {
	Firmware Firmware
	// Machine is PC when empty.
	Machine   Machine
	MemoryMiB int    // 512 by default
	Append    string // extra kernel arguments (direct boot only)
	// Kernel and Initrd replace the image's in a direct boot (the boot
	// benchmarks' floor: Debian's kernel with a trivial /init).
	Kernel, Initrd string
	// Disk is the overlay to boot; empty makes a fresh overlay of the
	// built disk. Reusing one boots the same box again after qemu ended.
	Disk string
	// Base is the raw disk a fresh overlay sits on instead of the built
	// qcow2 (e.g. Image.ConvertedBack of the VMDK or the VHDX).
	Base string
	// Drives are extra disks after the boot disk, e.g. a config drive.
	Drives []Drive
	Lab    *Lab // where the NICs' bridges live; nil: no network
	NICs   []NIC
	// NoWatchdog leaves the i6300esb out.
	NoWatchdog bool
	// EFIVars is the UEFI variable store (OVMF_VARS) to keep across
	// qemu runs, as a machine's NVRAM outlives a power cut; made from
	// OVMF's template when missing. Empty: a fresh store each run.
	EFIVars string
}

// VM is a running qemu.
type VM struct {
	t       testing.TB
	Image   *Image
	Opts    Options
	Console *Console
	Disk    string // the overlay qcow2
	dir     string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	qmp     *qmp
	exited  chan struct{}
	exitErr error
	once    sync.Once
}

// Start boots a VM and returns at once; wait for the console.
func Start(t testing.TB, im *Image, opts Options) *VM {
	t.Helper()
	testenv.RequireCommand(t, "qemu-system-x86_64", "qemu-img")
	if opts.MemoryMiB == 0 {
		opts.MemoryMiB = 512
	}
	if opts.Firmware == "" {
		opts.Firmware = Direct
	}
	if opts.Machine == "" {
		opts.Machine = PC
	}
	dir := t.TempDir()
	vm := &VM{t: t, Image: im, Opts: opts, dir: dir, exited: make(chan struct{})}
	vm.Disk = opts.Disk
	if vm.Disk == "" {
		vm.Disk = filepath.Join(dir, "disk.qcow2")
		base, format := im.Qcow2(), "qcow2"
		if opts.Base != "" {
			base, format = opts.Base, "raw"
		}
		out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", format, "-b", base, vm.Disk).CombinedOutput()
		if err != nil {
			t.Fatalf("make overlay disk: %v\n%s", err, out)
		}
	}
	args, err := vm.qemuArgs()
	if err != nil {
		t.Fatal(err)
	}
	name := "qemu-system-x86_64"
	if opts.Lab != nil {
		args = append([]string{"netns", "exec", opts.Lab.NS.Name, name}, args...)
		name = "ip"
	}
	vm.cmd = exec.Command(name, args...)
	// qemu dies with the test binary, even if it is killed.
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := vm.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	vm.cmd.Stderr = vm.cmd.Stdout
	vm.stdin, err = vm.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(ArtifactDir(t), "console.log")
	vm.Console = newConsole(stdout, vm.stdin, logPath)
	if err := vm.cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	go func() {
		vm.exitErr = vm.cmd.Wait()
		close(vm.exited)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of the VM (last lines; all in %s):\n%s", logPath, vm.Console.Tail(60))
		}
		vm.Kill()
	})
	return vm
}

func (vm *VM) qemuArgs() ([]string, error) {
	o := vm.Opts
	if o.Machine != PC && o.Machine != Q35 {
		return nil, fmt.Errorf("unknown machine type %q (pc or q35)", o.Machine)
	}
	args := []string{
		"-machine", string(o.Machine), "-smp", "1", "-m", fmt.Sprint(o.MemoryMiB),
		"-display", "none", "-vga", "std",
		"-serial", "stdio", "-monitor", "none",
		"-qmp", "unix:" + filepath.Join(vm.dir, "qmp.sock") + ",server=on,wait=off",
		"-drive", "file=" + vm.Disk + ",if=virtio,format=qcow2,cache=unsafe",
		"-device", "virtio-rng-pci",
	}
	for i, d := range o.Drives {
		format := "raw"
		if d.Qcow2 {
			format = "qcow2"
		}
		switch {
		case d.CDROM:
			args = append(args, "-drive", "file="+d.File+",media=cdrom,format="+format+",readonly=on")
		case d.USB:
			if !strings.Contains(strings.Join(args, " "), "qemu-xhci") {
				args = append(args, "-device", "qemu-xhci,id=xhci")
			}
			args = append(args, "-drive", fmt.Sprintf("file=%s,if=none,id=usb%d,format=%s,cache=unsafe", d.File, i, format),
				"-device", fmt.Sprintf("usb-storage,bus=xhci.0,drive=usb%d", i))
		default:
			args = append(args, "-drive", "file="+d.File+",if=virtio,format="+format+",cache=unsafe")
		}
	}
	if os.Getenv("TUNNELER_KVM") != "" {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		args = append(args, "-accel", "tcg", "-cpu", "max")
	}
	if !o.NoWatchdog {
		args = append(args, "-device", "i6300esb", "-action", "watchdog=reset")
	}
	switch o.Firmware {
	case Direct:
		cmdline := strings.TrimSpace(vm.Image.Manifest.Cmdline + " tunneler.slot=direct " + o.Append)
		kernel, initrd := vm.Image.Kernel(), vm.Image.Initrd()
		if o.Kernel != "" {
			kernel = o.Kernel
		}
		if o.Initrd != "" {
			initrd = o.Initrd
		}
		args = append(args, "-kernel", kernel, "-initrd", initrd, "-append", cmdline)
	case BIOS:
		if o.Append != "" {
			return nil, fmt.Errorf("Append works with direct boot only; BIOS boots the ESP's syslinux.cfg")
		}
	case UEFI:
		if o.Append != "" {
			return nil, fmt.Errorf("Append works with direct boot only; UEFI boots the ESP's systemd-boot entry")
		}
		vars := o.EFIVars
		if vars == "" {
			vars = filepath.Join(vm.dir, "OVMF_VARS.fd")
		}
		if _, err := os.Stat(vars); o.EFIVars == "" || err != nil {
			data, err := os.ReadFile(ovmfVars)
			if err != nil {
				return nil, fmt.Errorf("UEFI needs OVMF (Debian package ovmf): %w", err)
			}
			if err := os.WriteFile(vars, data, 0o644); err != nil {
				return nil, err
			}
		}
		args = append(args,
			"-drive", "if=pflash,format=raw,readonly=on,file="+ovmfCode,
			"-drive", "if=pflash,format=raw,file="+vars)
	default:
		return nil, fmt.Errorf("unknown firmware %q", o.Firmware)
	}
	if len(o.NICs) > 0 && o.Lab == nil {
		return nil, fmt.Errorf("NICs need a Lab to attach to")
	}
	for i, n := range o.NICs {
		tap := o.Lab.addTap(vm.t, n.Bridge)
		model := n.Model
		if model == "" {
			model = "virtio-net-pci"
		}
		dev := fmt.Sprintf("%s,netdev=n%d", model, i)
		if n.MAC != "" {
			dev += ",mac=" + n.MAC
		}
		args = append(args, "-netdev", fmt.Sprintf("tap,id=n%d,ifname=%s,script=no,downscript=no", i, tap), "-device", dev)
	}
	if len(o.NICs) == 0 {
		args = append(args, "-nic", "none")
	}
	return args, nil
}

func (vm *VM) monitor() (*qmp, error) {
	if vm.qmp != nil {
		return vm.qmp, nil
	}
	q, err := dialQMP(filepath.Join(vm.dir, "qmp.sock"), 10*time.Second)
	if err != nil {
		return nil, err
	}
	vm.qmp = q
	return q, nil
}

// PowerButton presses the ACPI power button.
func (vm *VM) PowerButton() error {
	q, err := vm.monitor()
	if err != nil {
		return err
	}
	_, err = q.execute("system_powerdown", nil)
	return err
}

// CtrlAltDel presses ctrl-alt-del on the VM's keyboard.
func (vm *VM) CtrlAltDel() error {
	q, err := vm.monitor()
	if err != nil {
		return err
	}
	keys := []map[string]any{
		{"type": "qcode", "data": "ctrl"}, {"type": "qcode", "data": "alt"}, {"type": "qcode", "data": "delete"},
	}
	_, err = q.execute("send-key", map[string]any{"keys": keys})
	return err
}

// Wait waits for qemu to exit (a power off ends it) and returns its error.
func (vm *VM) Wait(timeout time.Duration) error {
	select {
	case <-vm.exited:
		return vm.exitErr
	case <-time.After(timeout):
		return fmt.Errorf("qemu still running after %s", timeout)
	}
}

// Exited says whether qemu has ended.
func (vm *VM) Exited() bool {
	select {
	case <-vm.exited:
		return true
	default:
		return false
	}
}

// Kill ends qemu at once, as a power cut would.
func (vm *VM) Kill() {
	vm.once.Do(func() {
		if vm.qmp != nil {
			vm.qmp.close()
		}
		if vm.cmd.Process != nil {
			syscall.Kill(-vm.cmd.Process.Pid, syscall.SIGKILL)
		}
		select {
		case <-vm.exited:
		case <-time.After(10 * time.Second):
		}
	})
}
