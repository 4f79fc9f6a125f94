// Package console owns the consoles named on the kernel command line (serial
// ttyS0 and VGA tty0): everything init logs goes to each of them, the boot
// banner is printed there, and each runs the operator's menu.
//
// PID 1 keeps these files open for ever: if the program holding a serial
// console exits, the kernel hangs the port up and the console goes silently
// dead (DESIGN.md pitfalls).
package console

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Console is one terminal device.
type Console struct {
	Name string // ttyS0, tty0
	File *os.File
}

// Set is every console of the command line; writes go to all of them.
type Set struct {
	mu       sync.Mutex
	Consoles []Console
}

// Names returns the console devices named by console= parameters of a
// kernel command line, in order, without options ("ttyS0,115200" → ttyS0).
func Names(cmdline string) []string {
	var names []string
	seen := map[string]bool{}
	for _, f := range strings.Fields(cmdline) {
		v, ok := strings.CutPrefix(f, "console=")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(v, ",")
		if name != "" && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// Open opens every console of the command line under devDir (/dev), without
// making any of them PID 1's controlling terminal (so no ^C from a serial
// line can signal init). With none named, it falls back to /dev/console.
func Open(cmdline, devDir string) (*Set, error) {
	names := Names(cmdline)
	if len(names) == 0 {
		names = []string{"console"}
	}
	s := &Set{}
	var errs []string
	for _, n := range names {
		f, err := os.OpenFile(devDir+"/"+n, os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", n, err))
			continue
		}
		s.Consoles = append(s.Consoles, Console{Name: n, File: f})
	}
	if len(s.Consoles) == 0 {
		return s, fmt.Errorf("open consoles: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

// Write writes p to every console. A console that fails does not stop the
// others; the write reports success so loggers keep going.
func (s *Set) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.Consoles {
		c.File.Write(p)
	}
	return len(p), nil
}

// Printf writes a formatted line to every console.
func (s *Set) Printf(format string, args ...any) {
	fmt.Fprintf(s, format, args...)
}
