// Package power turns every way of asking the box to stop — a console
// command, ctrl-alt-del, the ACPI power button, a signal to PID 1 — into one
// clean shutdown: stop services, save state, sync, unmount, then reboot or
// power off. It also makes a kernel panic end in a reboot.
package power

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Action is what happens after the clean shutdown.
type Action int

const (
	Reboot Action = iota
	PowerOff
)

func (a Action) String() string {
	if a == PowerOff {
		return "power off"
	}
	return "reboot"
}

// Request is one ask to stop, with who asked.
type Request struct {
	Action Action
	Reason string
}

// Requests gathers every source of shutdown requests into one channel.
type Requests struct{ C chan Request }

// NewRequests makes the channel and starts listening to PID 1's signals:
// SIGINT is ctrl-alt-del once CatchCtrlAltDel ran, SIGTERM asks for a
// reboot, SIGUSR2 and SIGPWR for a power off (busybox init's convention).
func NewRequests() *Requests {
	r := &Requests{C: make(chan Request, 4)}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR2, syscall.SIGPWR)
	go func() {
		for s := range sigs {
			switch s {
			case syscall.SIGINT:
				r.C <- Request{Reboot, "ctrl-alt-del"}
			case syscall.SIGTERM:
				r.C <- Request{Reboot, "SIGTERM"}
			default:
				r.C <- Request{PowerOff, s.String()}
			}
		}
	}()
	return r
}

// Ask queues a request (from the console menu or the web UI).
func (r *Requests) Ask(a Action, reason string) { r.C <- Request{a, reason} }

// CatchCtrlAltDel makes the kernel send SIGINT to PID 1 on ctrl-alt-del
// instead of rebooting at once, so the reboot is clean.
func CatchCtrlAltDel() error {
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
		return fmt.Errorf("catch ctrl-alt-del: %w", err)
	}
	return nil
}

// RebootOnPanic makes the kernel reboot seconds after a panic or an oops
// rather than hang: an appliance nobody watches must come back by itself.
func RebootOnPanic(procSys string, seconds int) error {
	for file, val := range map[string]string{
		"kernel/panic":         fmt.Sprint(seconds),
		"kernel/panic_on_oops": "1",
	} {
		if err := os.WriteFile(filepath.Join(procSys, file), []byte(val), 0o644); err != nil {
			return fmt.Errorf("set %s: %w", file, err)
		}
	}
	return nil
}

// input_event on 64-bit: struct timeval (16 bytes), type, code (u16), value (s32).
const (
	inputEventSize = 24
	evKey          = 1
	keyPower       = 116
)

// FindPowerButtons returns the /dev/input/eventN of every input device
// that can report the power key: the ACPI power button (the `button`
// module must be loaded) under whatever name and path the machine gives
// it, a second ACPI button on some chipsets, a keyboard's power key. Which
// of them reports a press differs between machines (qemu's pc and q35,
// real boards), so init watches them all.
func FindPowerButtons(sysfs string) ([]string, error) {
	dirs, _ := filepath.Glob(filepath.Join(sysfs, "class", "input", "event*"))
	var out []string
	for _, d := range dirs {
		name, _ := os.ReadFile(filepath.Join(d, "device", "name"))
		keys, _ := os.ReadFile(filepath.Join(d, "device", "capabilities", "key"))
		if strings.TrimSpace(string(name)) == "Power Button" || hasKey(string(keys), keyPower) {
			out = append(out, "/dev/input/"+filepath.Base(d))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no input device reports the power key (ACPI power button or keyboard)")
	}
	return out, nil
}

// hasKey reads a sysfs capabilities bitmap: hexadecimal words of the
// kernel's long (64 bits here), most significant first, leading zero words
// left out.
func hasKey(bitmap string, code int) bool {
	words := strings.Fields(bitmap)
	i := len(words) - 1 - code/64 // words[len-1] holds bits 0..63
	if i < 0 {
		return false
	}
	var w uint64
	if _, err := fmt.Sscanf(words[i], "%x", &w); err != nil {
		return false
	}
	return w&(1<<(code%64)) != 0
}

// WatchPowerButton reads key events from dev and asks for a power off when
// the power key goes down. It returns when dev cannot be read.
func (r *Requests) WatchPowerButton(dev string) error {
	f, err := os.Open(dev)
	if err != nil {
		return fmt.Errorf("open power button %s: %w", dev, err)
	}
	defer f.Close()
	return r.watchKeys(f)
}

func (r *Requests) watchKeys(in io.Reader) error {
	buf := make([]byte, inputEventSize)
	for {
		if _, err := io.ReadFull(in, buf); err != nil {
			return fmt.Errorf("read power button: %w", err)
		}
		typ := binary.LittleEndian.Uint16(buf[16:])
		code := binary.LittleEndian.Uint16(buf[18:])
		val := int32(binary.LittleEndian.Uint32(buf[20:]))
		if typ == evKey && code == keyPower && val == 1 {
			r.C <- Request{PowerOff, "power button"}
		}
	}
}

// KillAll sends SIGTERM to every process but PID 1, waits up to grace for
// them to go, then sends SIGKILL, so filesystems can be unmounted.
func KillAll(grace time.Duration) {
	unix.Kill(-1, unix.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !othersAlive() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	unix.Kill(-1, unix.SIGKILL)
	time.Sleep(100 * time.Millisecond)
}

// othersAlive says whether any process other than PID 1 and kernel threads
// still runs (kernel threads have an empty cmdline).
func othersAlive() bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name() == "1" || e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if data, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && len(data) > 0 {
			return true
		}
	}
	return false
}

// Final performs the reboot or power off; it returns only on error.
func Final(a Action) error {
	unix.Sync()
	cmd := unix.LINUX_REBOOT_CMD_RESTART
	if a == PowerOff {
		cmd = unix.LINUX_REBOOT_CMD_POWER_OFF
	}
	return unix.Reboot(cmd)
}
