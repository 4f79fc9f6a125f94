package sysinfo

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const meminfo = `MemTotal:        2014744 kB
MemFree:         1700000 kB
MemAvailable:    1800000 kB
Buffers:            1234 kB
`

func TestParseMeminfo(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          string
		used, total uint64
	}{
		{"normal", meminfo, (2014744 - 1800000) * 1024, 2014744 * 1024},
		{"order does not matter", "MemAvailable: 10 kB\nMemTotal: 30 kB\n", 20 * 1024, 30 * 1024},
		{"empty", "", 0, 0},
		{"no MemAvailable: all in use", "MemTotal: 100 kB\n", 100 * 1024, 100 * 1024},
		{"available above total", "MemTotal: 10 kB\nMemAvailable: 20 kB\n", 0, 10 * 1024},
		{"garbage value skipped", "MemTotal: x kB\nMemTotal: 8 kB\n", 8 * 1024, 8 * 1024},
		{"short lines", "MemTotal:\n\n", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			used, total := ParseMeminfo(tc.in)
			if used != tc.used || total != tc.total {
				t.Errorf("ParseMeminfo = %d, %d; want %d, %d", used, total, tc.used, tc.total)
			}
		})
	}
}

func TestParseUptime(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"14.36 20.01\n", 14360 * time.Millisecond, false},
		{"283", 283 * time.Second, false},
		{"", 0, true},
		{"abc 1.0", 0, true},
		{"-1 0", 0, true},
	} {
		got, err := ParseUptime(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseUptime(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestReadFromProcDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "meminfo"), []byte(meminfo), 0o644)
	os.WriteFile(filepath.Join(dir, "uptime"), []byte("5.50 1.00\n"), 0o644)
	used, total, err := Memory(dir)
	if err != nil || used != (2014744-1800000)*1024 || total != 2014744*1024 {
		t.Errorf("Memory = %d, %d, %v", used, total, err)
	}
	up, err := Uptime(dir)
	if err != nil || up != 5500*time.Millisecond {
		t.Errorf("Uptime = %v, %v", up, err)
	}
	if _, _, err := Memory(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("Memory of a missing dir: err = %v, want one naming memory", err)
	}
	if _, err := Uptime(filepath.Join(dir, "missing")); err == nil {
		t.Error("Uptime of a missing dir: no error")
	}
}

func TestCPUTimes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		busy, all uint64
		ok        bool
	}{
		// user nice system idle iowait irq softirq steal
		{"aggregate line", "cpu  10 20 30 400 50 6 7 8\ncpu0 1 2 3 4 5 6 7 8\n", 10 + 20 + 30 + 6 + 7 + 8, 531, true},
		{"guest columns count too", "cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 1 1 1 1\n", 20, 100, true},
		{"per-cpu lines only", "cpu0 1 2 3 4 5\n", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			busy, all, ok := CPUTimes(tc.in)
			if busy != tc.busy || all != tc.all || ok != tc.ok {
				t.Errorf("CPUTimes = %d, %d, %v; want %d, %d, %v", busy, all, ok, tc.busy, tc.all, tc.ok)
			}
		})
	}
}

func TestCPUMeter(t *testing.T) {
	dir := t.TempDir()
	stat := func(busy, idle int) {
		t.Helper()
		line := "cpu  " + strconv.Itoa(busy) + " 0 0 " + strconv.Itoa(idle) + " 0\n"
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Unix(1000, 0)
	m := &CPUMeter{Proc: dir, Now: func() time.Time { return now }}
	stat(100, 900)
	if got := m.Percent(); got != 0 {
		t.Errorf("first reading = %v, want 0", got)
	}
	stat(150, 1050) // +50 busy of +200
	now = now.Add(2 * time.Second)
	if got := m.Percent(); got != 25 {
		t.Errorf("second reading = %v, want 25", got)
	}
	stat(350, 1050) // all busy, but read again within a second
	now = now.Add(500 * time.Millisecond)
	if got := m.Percent(); got != 25 {
		t.Errorf("reading within a second = %v, want the last figure 25", got)
	}
	now = now.Add(time.Second)
	if got := m.Percent(); got != 100 {
		t.Errorf("third reading = %v, want 100", got)
	}
}

func TestKernelRelease(t *testing.T) {
	if KernelRelease() == "" {
		t.Error("KernelRelease is empty on a running Linux")
	}
}

func TestResidentKiB(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "42"), 0o755)
	os.WriteFile(filepath.Join(dir, "42", "status"), []byte("Name:\tziti-router\nVmPeak:\t  90000 kB\nVmRSS:\t   51234 kB\nThreads:\t9\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "43"), 0o755)
	os.WriteFile(filepath.Join(dir, "43", "status"), []byte("Name:\tkthreadd\n"), 0o644) // kernel threads have none
	for _, tc := range []struct {
		pid, want int
	}{{42, 51234}, {43, 0}, {44, 0}} {
		if got := ResidentKiB(dir, tc.pid); got != tc.want {
			t.Errorf("ResidentKiB(%d) = %d, want %d", tc.pid, got, tc.want)
		}
	}
}
