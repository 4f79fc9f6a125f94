package supervise

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A process runs one Reaper: every test shares this one. The test process
// is made a child subreaper so orphans re-parent to it as they would to
// PID 1 on the box.
var testReaper *Reaper

// orphanHooks lets a test see the orphans the shared Reaper reaps.
var orphanHooks struct {
	sync.Mutex
	fns []func(ExitStatus)
}

func TestMain(m *testing.M) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "prctl PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	testReaper = NewReaper(func(st ExitStatus) {
		orphanHooks.Lock()
		defer orphanHooks.Unlock()
		for _, f := range orphanHooks.fns {
			f(st)
		}
	})
	code := m.Run()
	testReaper.Close()
	os.Exit(code)
}

func onOrphan(t *testing.T, f func(ExitStatus)) {
	orphanHooks.Lock()
	orphanHooks.fns = append(orphanHooks.fns, f)
	n := len(orphanHooks.fns) - 1
	orphanHooks.Unlock()
	t.Cleanup(func() {
		orphanHooks.Lock()
		orphanHooks.fns[n] = func(ExitStatus) {}
		orphanHooks.Unlock()
	})
}

// newTestSupervisor returns a Supervisor on the shared Reaper, logging to
// the test until it ends, closed when the test ends.
func newTestSupervisor(t *testing.T, o Options) *Supervisor {
	t.Helper()
	var mu sync.Mutex
	done := false
	o.Reaper = testReaper
	if o.Heartbeat == 0 {
		o.Heartbeat = 50 * time.Millisecond
	}
	o.Logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf(format, args...)
		}
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		mu.Lock()
		done = true
		mu.Unlock()
	})
	return s
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func alive(pid int) bool { return unix.Kill(pid, 0) == nil }
