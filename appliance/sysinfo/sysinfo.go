// Package sysinfo reads what the banner, the status page and /metrics
// show of the machine itself: memory, uptime, CPU load and the kernel's
// release. Each figure is parsed here once, from a /proc directory given
// by the caller (tests pass fixtures).
package sysinfo

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Memory reads procDir/meminfo: bytes in use (total less available) and
// the total.
func Memory(procDir string) (used, total uint64, err error) {
	data, err := os.ReadFile(filepath.Join(procDir, "meminfo"))
	if err != nil {
		return 0, 0, fmt.Errorf("read memory figures: %w", err)
	}
	used, total = ParseMeminfo(string(data))
	return used, total, nil
}

// ParseMeminfo is Memory on the text of /proc/meminfo. A MemAvailable
// above MemTotal (never seen, but a broken file must not wrap around)
// counts as nothing in use.
func ParseMeminfo(meminfo string) (used, total uint64) {
	var avail uint64
	for _, line := range strings.Split(meminfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			avail = v * 1024
		}
	}
	if avail > total {
		return 0, total
	}
	return total - avail, total
}

// Uptime reads procDir/uptime: how long the kernel has been running.
func Uptime(procDir string) (time.Duration, error) {
	data, err := os.ReadFile(filepath.Join(procDir, "uptime"))
	if err != nil {
		return 0, fmt.Errorf("read uptime: %w", err)
	}
	return ParseUptime(string(data))
}

// ParseUptime is Uptime on the text of /proc/uptime ("12.34 40.10").
func ParseUptime(s string) (time.Duration, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, fmt.Errorf("parse uptime %q: empty", s)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("parse uptime %q: not a number of seconds", s)
	}
	return time.Duration(v * float64(time.Second)), nil
}

// KernelRelease is the running kernel's release (uname -r).
func KernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// ResidentKiB is process pid's resident memory (VmRSS in
// procDir/PID/status) in KiB; 0 when the process or the figure is gone.
func ResidentKiB(procDir string, pid int) int {
	data, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
