package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRingBounded(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		add      int
		want     []string
	}{
		{"not full", 4, 2, []string{"0", "1"}},
		{"exactly full", 4, 4, []string{"0", "1", "2", "3"}},
		{"wrapped", 4, 10, []string{"6", "7", "8", "9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(tt.capacity)
			now := time.Now()
			for i := range tt.add {
				// The same time for every line: add must still order them.
				r.add(LogLine{Time: now, Stream: "stdout", Text: fmt.Sprint(i)})
			}
			got := r.since(time.Time{})
			var texts []string
			for i, l := range got {
				texts = append(texts, l.Text)
				if i > 0 && !l.Time.After(got[i-1].Time) {
					t.Errorf("line %d time %v not after %v", i, l.Time, got[i-1].Time)
				}
			}
			if fmt.Sprint(texts) != fmt.Sprint(tt.want) {
				t.Errorf("lines %v, want %v", texts, tt.want)
			}
			// Polling with the last seen time returns only newer lines.
			if len(got) >= 2 {
				rest := r.since(got[len(got)-2].Time)
				if len(rest) != 1 || rest[0].Text != tt.want[len(tt.want)-1] {
					t.Errorf("since second-last: %v, want only the last line", rest)
				}
			}
		})
	}
}

func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "svc.log")
	const max = 300
	l, err := openLogFile(path, max)
	if err != nil {
		t.Fatal(err)
	}
	last := ""
	for i := range 100 {
		last = fmt.Sprintf("line %03d", i)
		if err := l.write(LogLine{Time: time.Now(), Stream: "stdout", Text: last}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > max || fi.Size() == 0 {
			t.Errorf("%s: %d bytes, want 1..%d", p, fi.Size(), max)
		}
	}
	if _, err := os.Stat(path + ".2"); err == nil {
		t.Errorf("%s.2 exists: only one old file is kept", path)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(b), "stdout: "+last+"\n") {
		t.Errorf("current log does not end with the last line:\n%s", b)
	}
	// Reopening appends and keeps counting the existing size.
	l, err = openLogFile(path, max)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	for range 20 {
		l.write(LogLine{Time: time.Now(), Stream: "stderr", Text: "again"})
	}
	if fi, _ := os.Stat(path); fi.Size() > max {
		t.Errorf("after reopen: %d bytes, want <= %d", fi.Size(), max)
	}
}

// A chatty service: the ring keeps only the last lines, the log files stay
// under their cap, and stdout and stderr are told apart.
func TestServiceOutput(t *testing.T) {
	dir := t.TempDir()
	s := newTestSupervisor(t, Options{LogDir: dir, LogMaxBytes: 4000, RingLines: 50})
	u, err := s.Add(Service{
		Name: "chatty",
		Path: "/bin/sh",
		Args: []string{"-c", `i=0; while [ $i -lt 500 ]; do echo "out $i"; i=$((i+1)); done; sleep 0.2; echo "err last" >&2; exec sleep 30`},
	})
	if err != nil {
		t.Fatal(err)
	}
	u.Start()
	waitFor(t, "the last line", 5*time.Second, func() bool {
		for _, l := range u.Lines(time.Time{}) {
			if l.Stream == "stderr" && l.Text == "err last" {
				return true
			}
		}
		return false
	})
	lines := u.Lines(time.Time{})
	if len(lines) != 50 {
		t.Errorf("ring holds %d lines, want 50", len(lines))
	}
	if !containsLine(lines, "stdout", "out 499") {
		t.Errorf("ring lacks the last stdout line: %v", lines)
	}
	for _, p := range []string{"chatty.log", "chatty.log.1"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 4000 {
			t.Errorf("%s: %d bytes, over the 4000 cap", p, fi.Size())
		}
	}
}

func containsLine(lines []LogLine, stream, text string) bool {
	for _, l := range lines {
		if l.Stream == stream && l.Text == text {
			return true
		}
	}
	return false
}

// A secret a service prints reaches neither the ring nor the log file.
func TestServiceOutputRedacted(t *testing.T) {
	dir := t.TempDir()
	const secret = "s3cret-psk-value"
	s := newTestSupervisor(t, Options{LogDir: dir, Redact: func(l string) string {
		return strings.ReplaceAll(l, secret, "[hidden]")
	}})
	u, err := s.Add(Service{
		Name: "leaky",
		Path: "/bin/sh",
		Args: []string{"-c", `echo "psk is ` + secret + `"; echo "and ` + secret + `" >&2; exec sleep 30`},
	})
	if err != nil {
		t.Fatal(err)
	}
	u.Start()
	waitFor(t, "both lines", 5*time.Second, func() bool {
		return containsLine(u.Lines(time.Time{}), "stdout", "psk is [hidden]") &&
			containsLine(u.Lines(time.Time{}), "stderr", "and [hidden]")
	})
	for _, l := range u.Lines(time.Time{}) {
		if strings.Contains(l.Text, secret) {
			t.Errorf("ring line carries the secret: %q", l.Text)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "leaky.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), secret) || !strings.Contains(string(data), "psk is [hidden]") {
		t.Errorf("log file not redacted:\n%s", data)
	}
}
