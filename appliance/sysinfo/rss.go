package sysinfo

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcessRSS reads procDir/PID/status: the bytes of RAM the process has
// resident (VmRSS), e.g. charon's, which grows with its connections and
// SAs (the Overview's system info, issue 18's memory figures).
func ProcessRSS(procDir string, pid int) (uint64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("read resident memory: no process (pid %d)", pid)
	}
	data, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("read resident memory of pid %d: %w", pid, err)
	}
	rss, ok := ParseVmRSS(string(data))
	if !ok {
		return 0, fmt.Errorf("read resident memory of pid %d: no VmRSS line", pid)
	}
	return rss, nil
}

// ParseVmRSS is ProcessRSS on the text of /proc/PID/status ("VmRSS:
// 1234 kB"); ok is false without a readable VmRSS line (a kernel thread
// or a zombie has none).
func ParseVmRSS(status string) (rss uint64, ok bool) {
	for _, line := range strings.Split(status, "\n") {
		rest, found := strings.CutPrefix(line, "VmRSS:")
		if !found {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return v * 1024, true
	}
	return 0, false
}
