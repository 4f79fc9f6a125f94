package sysinfo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want uint64
		ok   bool
	}{
		{"charon", "Name:\tcharon\nVmPeak:\t  90000 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 8000 kB\n", 12345 * 1024, true},
		{"no VmRSS (kernel thread)", "Name:\tkworker/0:1\nState:\tI (idle)\n", 0, false},
		{"empty value", "VmRSS:\n", 0, false},
		{"garbage value", "VmRSS:\tlots kB\n", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseVmRSS(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ParseVmRSS = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestProcessRSS(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "42"), 0o755)
	os.WriteFile(filepath.Join(dir, "42", "status"), []byte("Name:\tcharon\nVmRSS:\t2048 kB\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "43"), 0o755)
	os.WriteFile(filepath.Join(dir, "43", "status"), []byte("Name:\tkthreadd\n"), 0o644)
	if got, err := ProcessRSS(dir, 42); err != nil || got != 2048*1024 {
		t.Errorf("ProcessRSS(42) = %d, %v; want %d", got, err, 2048*1024)
	}
	for _, tc := range []struct {
		pid  int
		want string
	}{
		{0, "no process"},
		{43, "no VmRSS"},
		{44, "pid 44"},
	} {
		if _, err := ProcessRSS(dir, tc.pid); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ProcessRSS(%d): err = %v, want one saying %q", tc.pid, err, tc.want)
		}
	}
}

// The running test's own process has a VmRSS in the real /proc.
func TestProcessRSSOfThisProcess(t *testing.T) {
	if got, err := ProcessRSS("/proc", os.Getpid()); err != nil || got == 0 {
		t.Errorf("ProcessRSS(/proc, self) = %d, %v", got, err)
	}
}
