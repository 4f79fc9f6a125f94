// Package watchdog feeds the hardware watchdog (i6300esb in qemu, iTCO on
// Intel PCs) only while init's supervision loop proves it is alive, so a
// hung PID 1 ends in a reset instead of a box that looks up and does nothing.
package watchdog

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Heartbeat is beaten by the supervision loop on every round.
type Heartbeat struct{ last atomic.Int64 }

// Beat records that the loop is alive now.
func (h *Heartbeat) Beat() { h.last.Store(time.Now().UnixNano()) }

// Fresh says whether the loop beat within maxAge.
func (h *Heartbeat) Fresh(maxAge time.Duration) bool {
	last := h.last.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < maxAge
}

// Find returns the first watchdog device there is, with its driver's name.
func Find() (dev, identity string, err error) {
	ids, _ := filepath.Glob("/sys/class/watchdog/watchdog*/identity")
	for _, id := range ids {
		name := filepath.Base(filepath.Dir(id))
		data, _ := os.ReadFile(id)
		return "/dev/" + name, string(trim(data)), nil
	}
	return "", "", fmt.Errorf("no hardware watchdog")
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// Feeder pets a watchdog while a heartbeat is fresh. It speaks the
// kernel's watchdog ioctls directly: u-root v0.16.0's pkg/watchdog passes
// the timeout in nanoseconds to WDIOC_SETTIMEOUT, which drivers reject.
type Feeder struct {
	f       *os.File
	Timeout time.Duration
}

// Open arms the watchdog at dev with timeout. From here on the machine
// resets unless Feed keeps it fed.
func Open(dev string, timeout time.Duration) (*Feeder, error) {
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open watchdog %s: %w", dev, err)
	}
	fd := int(f.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.WDIOC_SETTIMEOUT, int(timeout/time.Second)); err != nil {
		magicClose(f)
		return nil, fmt.Errorf("set watchdog timeout %s: %w", timeout, err)
	}
	got := timeout
	if secs, err := unix.IoctlGetInt(fd, unix.WDIOC_GETTIMEOUT); err == nil {
		got = time.Duration(secs) * time.Second
	}
	return &Feeder{f: f, Timeout: got}, nil
}

// magicClose disarms the watchdog: drivers stop it when "V" is written
// just before close.
func magicClose(f *os.File) {
	f.Write([]byte("V"))
	f.Close()
}

// Feed pets the watchdog every interval while hb beat within staleAfter,
// and stops petting (so the hardware resets the box) once it has not. It
// returns only if stop is closed, disarming the watchdog on the way out.
func (f *Feeder) Feed(hb *Heartbeat, interval, staleAfter time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			magicClose(f.f)
			return
		case <-t.C:
			if hb.Fresh(staleAfter) {
				unix.IoctlWatchdogKeepalive(int(f.f.Fd()))
			}
		}
	}
}
