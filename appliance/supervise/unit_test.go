package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func sh(name, script string) Service {
	return Service{Name: name, Path: "/bin/sh", Args: []string{"-c", script}}
}

// startTimes follows a service and records when each of its processes
// started.
func startTimes(s *Supervisor, name string) func() []time.Time {
	c, _ := s.Subscribe(100)
	var mu sync.Mutex
	var starts []time.Time
	go func() {
		for st := range c {
			if st.Name == name && st.State == Running {
				mu.Lock()
				if len(starts) == 0 || !starts[len(starts)-1].Equal(st.Started) {
					starts = append(starts, st.Started)
				}
				mu.Unlock()
			}
		}
	}()
	return func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), starts...)
	}
}

func TestCrashLoopBacksOff(t *testing.T) {
	s := newTestSupervisor(t, Options{})
	svc := sh("crashy", "exit 1")
	svc.BackoffMin = 40 * time.Millisecond
	svc.BackoffMax = 160 * time.Millisecond
	u, err := s.Add(svc)
	if err != nil {
		t.Fatal(err)
	}
	starts := startTimes(s, "crashy")
	u.Start()
	waitFor(t, "6 starts", 5*time.Second, func() bool { return len(starts()) >= 6 })
	ts := starts()
	want := []time.Duration{40, 80, 160, 160, 160}
	for i, w := range want {
		w *= time.Millisecond
		if gap := ts[i+1].Sub(ts[i]); gap < w {
			t.Errorf("gap before start %d: %v, shorter than the %v backoff", i+2, gap, w)
		}
	}
	var delays []string
	for _, l := range u.Lines(time.Time{}) {
		if d, ok := strings.CutPrefix(l.Text, "restarting in "); ok && l.Stream == "supervise" {
			delays = append(delays, strings.Fields(d)[0])
		}
	}
	if got := fmt.Sprint(delays[:5]); got != "[40ms 80ms 160ms 160ms 160ms]" {
		t.Errorf("backoff delays %v, want doubling from 40ms capped at 160ms", delays)
	}
	st := u.Status()
	if st.Restarts < 5 || st.Failures < 5 || st.LastExit != "exit status 1" {
		t.Errorf("status %+v: want >= 5 restarts and failures, last exit status 1", st)
	}
}

func TestStableRunResetsBackoff(t *testing.T) {
	tests := []struct {
		name         string
		stableAfter  time.Duration
		wantFailures func(int) bool
	}{
		{"runs count as stable", 50 * time.Millisecond, func(n int) bool { return n == 1 }},
		{"runs too short", time.Minute, func(n int) bool { return n >= 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSupervisor(t, Options{})
			svc := sh("flaky", "sleep 0.1; exit 1")
			svc.BackoffMin = 10 * time.Millisecond
			svc.StableAfter = tt.stableAfter
			u, err := s.Add(svc)
			if err != nil {
				t.Fatal(err)
			}
			u.Start()
			waitFor(t, "3 restarts", 5*time.Second, func() bool { return u.Status().Restarts >= 3 })
			waitFor(t, "backoff", 5*time.Second, func() bool { return u.Status().State == Backoff })
			if st := u.Status(); !tt.wantFailures(st.Failures) {
				t.Errorf("failures in a row = %d after %d restarts", st.Failures, st.Restarts)
			}
		})
	}
}

func TestExitAtOnceIsSeen(t *testing.T) {
	s := newTestSupervisor(t, Options{})
	svc := sh("brief", "exit 4")
	svc.GiveUpAfter = 3
	svc.BackoffMin = time.Millisecond
	u, _ := s.Add(svc)
	u.Start()
	waitFor(t, "giving up", 5*time.Second, func() bool { return u.Status().State == Failed })
	st := u.Status()
	if st.LastExit != "exit status 4" || st.Failures != 3 || st.Restarts != 2 {
		t.Errorf("status %+v: want exit status 4 seen 3 times", st)
	}
	// Start after giving up tries again with the backoff reset.
	u.Start()
	waitFor(t, "giving up again", 5*time.Second, func() bool {
		st := u.Status()
		return st.State == Failed && st.Restarts == 5
	})
}

func TestStop(t *testing.T) {
	const grace = 300 * time.Millisecond
	tests := []struct {
		name     string
		script   string
		lastExit string
		slow     bool // needs the SIGKILL after the grace period
	}{
		{"obeys TERM", `sleep 30 & echo $!; wait`, "signal: SIGTERM (stop requested)", false},
		// The ignored TERM is inherited by the grandchild, which only
		// the SIGKILL to the group ends.
		{"ignores TERM", `trap "" TERM; sleep 30 & echo $!; wait; wait`, "signal: SIGKILL (stop requested)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSupervisor(t, Options{})
			svc := sh("stubborn", tt.script)
			svc.StopGrace = grace
			u, _ := s.Add(svc)
			u.Start()
			var child int
			waitFor(t, "grandchild pid", 5*time.Second, func() bool {
				for _, l := range u.Lines(time.Time{}) {
					if l.Stream == "stdout" {
						child, _ = strconv.Atoi(l.Text)
						return child > 0
					}
				}
				return false
			})
			pid := u.Status().Pid
			begin := time.Now()
			if err := u.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			took := time.Since(begin)
			if tt.slow != (took >= grace) {
				t.Errorf("stop took %v; grace %v, want it used: %v", took, grace, tt.slow)
			}
			st := u.Status()
			if st.State != Stopped || st.Pid != 0 || st.LastExit != tt.lastExit {
				t.Errorf("after stop: %+v, want stopped with %q", st, tt.lastExit)
			}
			if alive(pid) {
				t.Errorf("pid %d still exists after Stop returned", pid)
			}
			// The grandchild got its signal; it is reaped as an orphan.
			waitFor(t, "grandchild gone", 2*time.Second, func() bool { return !alive(child) })
		})
	}
}

func TestRestart(t *testing.T) {
	s := newTestSupervisor(t, Options{})
	u, _ := s.Add(sh("charon", "exec sleep 30"))
	u.Start()
	waitFor(t, "running", 5*time.Second, func() bool { return u.Status().State == Running })
	old := u.Status().Pid
	if err := u.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "running again", 5*time.Second, func() bool { return u.Status().State == Running })
	st := u.Status()
	if st.Pid == old || st.Restarts != 1 || st.Failures != 0 {
		t.Errorf("after restart: %+v, want a new pid (old %d), 1 restart, no failures", st, old)
	}
	if alive(old) {
		t.Errorf("old pid %d still exists", old)
	}
}

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "n")
	var calls atomic.Int32
	s := newTestSupervisor(t, Options{})
	svc := sh("router", `cat `+marker+`; rm `+marker+`; exit 1`)
	svc.BackoffMin = 5 * time.Millisecond
	svc.BackoffMax = 5 * time.Millisecond
	svc.GiveUpAfter = 5
	svc.Prepare = func(ctx context.Context) error {
		n := calls.Add(1)
		if n == 2 || n == 4 {
			return errors.New("address busy")
		}
		return os.WriteFile(marker, []byte(fmt.Sprintf("prepared %d\n", n)), 0o644)
	}
	u, _ := s.Add(svc)
	subc, _ := s.Subscribe(100)
	u.Start()
	sawPrepareFail := false
	for st := range subc {
		if strings.HasPrefix(st.LastExit, "prepare: address busy") {
			sawPrepareFail = true
		}
		if st.State == Failed {
			break
		}
	}
	if !sawPrepareFail {
		t.Error("status never showed the Prepare failure")
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("Prepare ran %d times for 5 attempts", n)
	}
	// Each run saw the marker its own Prepare wrote: Prepare runs before
	// every start, and a failed Prepare starts nothing.
	var got []string
	for _, l := range u.Lines(time.Time{}) {
		if l.Stream == "stdout" || l.Stream == "stderr" {
			got = append(got, l.Text)
		}
	}
	if want := "[prepared 1 prepared 3 prepared 5]"; fmt.Sprint(got) != want {
		t.Errorf("runs printed %v, want %s", got, want)
	}
}

func TestStopDuringPrepare(t *testing.T) {
	s := newTestSupervisor(t, Options{})
	svc := sh("slow", "exec sleep 30")
	entered := make(chan struct{})
	svc.Prepare = func(ctx context.Context) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	}
	u, _ := s.Add(svc)
	u.Start()
	<-entered
	if err := s.Healthy(); err != nil {
		t.Errorf("a slow Prepare made supervision unhealthy: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := u.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st := u.Status(); st.State != Stopped || st.Pid != 0 {
		t.Errorf("after stop: %+v", st)
	}
}

func TestProbe(t *testing.T) {
	s := newTestSupervisor(t, Options{})
	var fail atomic.Bool
	svc := sh("probed", "exec sleep 30")
	svc.ProbeInterval = 20 * time.Millisecond
	svc.ProbeFailuresToRestart = 5
	svc.BackoffMin = 10 * time.Millisecond
	svc.Probe = func(ctx context.Context) error {
		if fail.Load() {
			return errors.New(`healthy: false`)
		}
		return nil
	}
	u, _ := s.Add(svc)
	u.Start()
	waitFor(t, "healthy", 5*time.Second, func() bool { return u.Status().Healthy })
	pid := u.Status().Pid
	fail.Store(true)
	waitFor(t, "unhealthy", 5*time.Second, func() bool {
		st := u.Status()
		return !st.Healthy && st.ProbeError == "healthy: false"
	})
	// Still failing: restarted as if crashed.
	waitFor(t, "restart", 5*time.Second, func() bool { return u.Status().Restarts >= 1 })
	if st := u.Status(); !strings.Contains(st.LastExit, "failed probes") {
		t.Errorf("last exit %q does not say the probes failed", st.LastExit)
	}
	fail.Store(false)
	waitFor(t, "healthy again", 5*time.Second, func() bool {
		st := u.Status()
		return st.Healthy && st.Pid != pid && st.Pid != 0
	})
}

func TestSupervisorStopsInReverseAndReportsHealth(t *testing.T) {
	s := newTestSupervisor(t, Options{Heartbeat: 20 * time.Millisecond})
	for _, name := range []string{"charon", "router", "web"} {
		if _, err := s.Add(sh(name, "exec sleep 30")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Add(sh("router", "true")); err == nil {
		t.Error("a second service named router was added")
	}
	c, _ := s.Subscribe(100)
	if err := s.StartAll(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all running", 5*time.Second, func() bool {
		for _, st := range s.Status() {
			if st.State != Running {
				return false
			}
		}
		return true
	})
	if err := s.Healthy(); err != nil {
		t.Errorf("healthy while running: %v", err)
	}
	if err := s.StopAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	var order []string
	for len(order) < 3 {
		if st := <-c; st.State == Stopped {
			order = append(order, st.Name)
		}
	}
	if want := "[web router charon]"; fmt.Sprint(order) != want {
		t.Errorf("stopped in order %v, want %s", order, want)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Healthy(); err == nil {
		t.Error("healthy after Close: the watchdog would keep being fed")
	}
}

func TestStopDuringBackoff(t *testing.T) {
	s := newTestSupervisor(t, Options{})
	svc := sh("crashy", "exit 1")
	svc.BackoffMin = time.Hour
	u, _ := s.Add(svc)
	u.Start()
	waitFor(t, "backoff", 5*time.Second, func() bool { return u.Status().State == Backoff })
	if err := u.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := u.Status(); st.State != Stopped || !st.NextStart.IsZero() {
		t.Errorf("after stop in backoff: %+v", st)
	}
}

func TestSubscriberKeepsLatest(t *testing.T) {
	s := newTestSupervisor(t, Options{})
	c, cancel := s.Subscribe(2)
	for i := range 5 {
		s.publish(Status{Name: "x", Restarts: i})
	}
	if a, b := <-c, <-c; a.Restarts != 3 || b.Restarts != 4 {
		t.Errorf("a slow subscriber got restarts %d, %d; want the latest two, 3 and 4", a.Restarts, b.Restarts)
	}
	cancel()
	cancel()
	s.publish(Status{Name: "x"}) // must not panic on the closed channel
	if _, ok := <-c; ok {
		t.Error("channel still open after cancel")
	}
}
