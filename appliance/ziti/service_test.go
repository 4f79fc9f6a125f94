package ziti

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/supervise"
)

// fakeUnit plays the supervised router: it records what it is asked.
type fakeUnit struct {
	st    supervise.Status
	lines []supervise.LogLine
	calls []string
	err   error // answer to Start, Stop, Restart
}

func (u *fakeUnit) Status() supervise.Status                  { return u.st }
func (u *fakeUnit) Lines(since time.Time) []supervise.LogLine { return u.lines }
func (u *fakeUnit) Start() error                              { u.calls = append(u.calls, "start"); return u.err }
func (u *fakeUnit) Stop(context.Context) error                { u.calls = append(u.calls, "stop"); return u.err }
func (u *fakeUnit) Restart(context.Context) error {
	u.calls = append(u.calls, "restart")
	return u.err
}

type fakeSupervisor struct {
	added []supervise.Service
	unit  *fakeUnit
	c     chan supervise.Status
}

func (s *fakeSupervisor) Add(svc supervise.Service) (Unit, error) {
	s.added = append(s.added, svc)
	return s.unit, nil
}
func (s *fakeSupervisor) Subscribe(int) (<-chan supervise.Status, func()) { return s.c, func() {} }

type serviceFixture struct {
	svc    *Service
	unit   *fakeUnit
	sup    *fakeSupervisor
	router *Router
	enroll *fakeEnroll
	log    *bytes.Buffer
	proc   string
	killed []int
	policy bool // PoliciesMissing's answer
}

func newServiceFixture(t *testing.T) *serviceFixture {
	t.Helper()
	f := &serviceFixture{unit: &fakeUnit{st: supervise.Status{Name: UnitName, State: supervise.Stopped}},
		enroll: &fakeEnroll{cert: "c"}, log: &bytes.Buffer{}, proc: t.TempDir()}
	f.sup = &fakeSupervisor{unit: f.unit, c: make(chan supervise.Status, 16)}
	f.router, _ = newTestRouter(t, f.enroll)
	f.router.Binary = filepath.Join(t.TempDir(), "ziti-router")
	if err := os.WriteFile(f.router.Binary, []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(ServiceOptions{
		Supervisor:      f.sup,
		Router:          f.router,
		PoliciesMissing: func() bool { return f.policy },
		Log:             slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{ReplaceAttr: dropTime})),
		Proc:            f.proc,
		Signal: func(pid int, sig syscall.Signal) error {
			if sig != syscall.SIGKILL {
				t.Errorf("signal %v, want SIGKILL", sig)
			}
			f.killed = append(f.killed, pid)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

// enrolled enrolls through the service with a good token.
func (f *serviceFixture) enrolled(t *testing.T) {
	t.Helper()
	if err := f.svc.Enroll(context.Background(), []byte(makeJWT(t, goodClaims())), nil); err != nil {
		t.Fatal(err)
	}
	f.unit.calls = nil
}

func (f *serviceFixture) rss(t *testing.T, pid, kib int) {
	t.Helper()
	dir := filepath.Join(f.proc, strconv.Itoa(pid))
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte("Name:\tziti-router\nVmRSS:\t"+strconv.Itoa(kib)+" kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNewServiceAddsRouterAndTidies(t *testing.T) {
	enroll := &fakeEnroll{}
	rt, dir := newTestRouter(t, enroll)
	stale := filepath.Join(dir, ".enroll-123")
	os.MkdirAll(stale, 0o700) // a power cut during an enrollment
	sup := &fakeSupervisor{unit: &fakeUnit{}}
	if _, err := NewService(ServiceOptions{Supervisor: sup, Router: rt}); err != nil {
		t.Fatal(err)
	}
	if len(sup.added) != 1 {
		t.Fatalf("added %d services, want the router", len(sup.added))
	}
	svc := sup.added[0]
	path, args := rt.Command()
	if svc.Name != UnitName || svc.Path != path || !cmp.Equal(svc.Args, args) || svc.Prepare == nil || svc.Probe == nil {
		t.Errorf("service = %+v", svc)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("half-made enrollment left after NewService: %v", err)
	}
	if _, err := NewService(ServiceOptions{Router: rt}); err == nil {
		t.Error("NewService without a supervisor: no error")
	}
}

func TestServiceStart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		enrolled  bool
		missing   bool
		wantCalls []string
		wantErr   string
		wantLog   string
	}{
		{"not enrolled: waits", false, false, nil, "", "not enrolled; enroll it"},
		{"policies missing: fails closed", true, true, nil, "NOT started: the IPsec policies", ""},
		{"enrolled: starts", true, false, []string{"start"}, "", "router: starting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newServiceFixture(t)
			if tc.enrolled {
				f.enrolled(t)
			}
			f.policy = tc.missing
			f.log.Reset()
			err := f.svc.Start()
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Start = %v, want %q", err, tc.wantErr)
			}
			if !cmp.Equal(f.unit.calls, tc.wantCalls) {
				t.Errorf("unit calls = %q, want %q", f.unit.calls, tc.wantCalls)
			}
			if !strings.Contains(f.log.String(), tc.wantLog) {
				t.Errorf("log %q lacks %q", f.log.String(), tc.wantLog)
			}
		})
	}
}

func TestServiceStatus(t *testing.T) {
	var none *Service
	if got := none.Status(); got.Available || got.State != "unavailable" {
		t.Errorf("nil service status = %+v", got)
	}
	f := newServiceFixture(t)
	if got := f.svc.Status(); !got.Available || got.Enrolled || got.Detail != "not enrolled" {
		t.Errorf("before enrolling = %+v", got)
	}
	f.enrolled(t)
	f.unit.st = supervise.Status{Name: UnitName, State: supervise.Running, Pid: 42, Healthy: true}
	f.rss(t, 42, 51234)
	want := State{Available: true, Enrolled: true, Connected: true, State: "running",
		Detail: "connected to its controller", RouterID: "kZ3eU4fRa", Pid: 42, RSSKiB: 51234}
	if diff := cmp.Diff(want, f.svc.Status()); diff != "" {
		t.Errorf("connected (-want +got):\n%s", diff)
	}
	if got := f.svc.BannerLine(); got != "connected to its controller (router kZ3eU4fRa), 51234 KiB resident" {
		t.Errorf("BannerLine = %q", got)
	}
}

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		st       supervise.Status
		enrolled bool
		want     string
	}{
		{supervise.Status{State: supervise.Running, Healthy: true}, false, "not enrolled"},
		{supervise.Status{State: supervise.Running, Healthy: true}, true, "connected to its controller"},
		{supervise.Status{State: supervise.Running, ProbeError: "no controller"}, true, "running, NOT connected to its controller: no controller"},
		{supervise.Status{State: supervise.Running}, true, "running, connecting to its controller"},
		{supervise.Status{State: supervise.Stopped}, true, "enrolled; starts once the IPsec policies are in"},
		{supervise.Status{State: supervise.Stopped, Restarts: 1}, true, "stopped"},
		{supervise.Status{State: supervise.Backoff, LastExit: "signal: killed"}, true, "restarting after signal: killed"},
		{supervise.Status{State: supervise.Failed}, true, "failed"},
	} {
		if got := Line(tc.st, tc.enrolled); got != tc.want {
			t.Errorf("Line(%+v, %v) = %q, want %q", tc.st, tc.enrolled, got, tc.want)
		}
	}
}

func TestStateSummaryAndBanner(t *testing.T) {
	for _, tc := range []struct {
		name                string
		in                  State
		state, detail, line string
	}{
		{"no router", State{State: "unavailable", Detail: "unavailable (no /perm or no supervisor)"},
			"unavailable", "unavailable (no /perm or no supervisor)", "unavailable (no /perm or no supervisor)"},
		{"not enrolled", State{Available: true, State: "stopped", Detail: "not enrolled"},
			"not enrolled", "", "not enrolled"},
		{"connected", State{Available: true, Enrolled: true, Connected: true, State: "running", Detail: "connected to its controller", RouterID: "r1", RSSKiB: 9},
			"running", "connected to its controller", "connected to its controller (router r1), 9 KiB resident"},
		{"restarting", State{Available: true, Enrolled: true, State: "backoff", Detail: "restarting after exit status 1", RouterID: "r1", RSSKiB: 9},
			"backoff", "restarting after exit status 1", "restarting after exit status 1 (router r1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, detail := tc.in.Summary()
			if state != tc.state || detail != tc.detail {
				t.Errorf("Summary = %q, %q; want %q, %q", state, detail, tc.state, tc.detail)
			}
			if got := tc.in.BannerLine(); got != tc.line {
				t.Errorf("BannerLine = %q, want %q", got, tc.line)
			}
		})
	}
}

func TestServiceEnroll(t *testing.T) {
	ctx := context.Background()
	jwt := []byte(makeJWT(t, goodClaims()))

	t.Run("no router program", func(t *testing.T) {
		f := newServiceFixture(t)
		os.Remove(f.router.Binary)
		if err := f.svc.Enroll(ctx, jwt, nil); err == nil || !strings.Contains(err.Error(), "missing from this image") {
			t.Errorf("Enroll = %v", err)
		}
		if f.enroll.calls != 0 || len(f.unit.calls) != 0 {
			t.Errorf("enroller ran %d times, unit calls %q", f.enroll.calls, f.unit.calls)
		}
	})
	t.Run("bad token changes nothing", func(t *testing.T) {
		f := newServiceFixture(t)
		if err := f.svc.Enroll(ctx, []byte("not-a-token"), nil); err == nil {
			t.Error("Enroll with garbage: no error")
		}
		if f.enroll.calls != 0 || len(f.unit.calls) != 0 {
			t.Errorf("enroller ran %d times, unit calls %q", f.enroll.calls, f.unit.calls)
		}
	})
	t.Run("refused by the controller", func(t *testing.T) {
		f := newServiceFixture(t)
		f.enroll.fail = `{"error":{"code":"INVALID_ENROLLMENT_TOKEN"}}`
		err := f.svc.Enroll(ctx, jwt, nil)
		if !errors.Is(err, ErrRefused) || len(f.unit.calls) != 0 {
			t.Errorf("Enroll = %v, unit calls %q", err, f.unit.calls)
		}
		// One "enrollment failed" in the line, not two.
		if n := strings.Count(f.log.String(), "enrollment failed"); n != 1 {
			t.Errorf("log says %q %d times:\n%s", "enrollment failed", n, f.log.String())
		}
	})
	t.Run("enrolls and restarts", func(t *testing.T) {
		f := newServiceFixture(t)
		var steps []string
		if err := f.svc.Enroll(ctx, jwt, func(s string) { steps = append(steps, s) }); err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(f.unit.calls, []string{"restart"}) {
			t.Errorf("unit calls = %q, want a restart", f.unit.calls)
		}
		if len(steps) == 0 || steps[len(steps)-1] != "starting the router" {
			t.Errorf("progress = %q", steps)
		}
		if f.router.Progress != nil {
			t.Error("the router keeps the progress func after Enroll")
		}
		if !f.svc.Status().Enrolled {
			t.Error("not enrolled after Enroll")
		}
	})
	t.Run("restart fails", func(t *testing.T) {
		f := newServiceFixture(t)
		f.unit.err = errors.New("prepare: boom")
		if err := f.svc.Enroll(ctx, jwt, nil); err == nil || !strings.Contains(err.Error(), "enrolled, but starting the router failed: prepare: boom") {
			t.Errorf("Enroll = %v", err)
		}
	})
	t.Run("no router", func(t *testing.T) {
		var none *Service
		if err := none.Enroll(ctx, jwt, nil); err == nil {
			t.Error("nil service enrolled")
		}
	})
}

func TestServiceUnenroll(t *testing.T) {
	f := newServiceFixture(t)
	f.enrolled(t)
	if err := f.svc.Unenroll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(f.unit.calls, []string{"stop"}) || f.svc.Status().Enrolled {
		t.Errorf("unit calls %q, status %+v", f.unit.calls, f.svc.Status())
	}
	// A router that does not stop keeps its identity.
	f.enrolled(t)
	f.unit.err = errors.New("timeout")
	if err := f.svc.Unenroll(context.Background()); err == nil || !f.svc.Status().Enrolled {
		t.Errorf("Unenroll with a stuck router = %v, enrolled %v", err, f.svc.Status().Enrolled)
	}
}

func TestServiceKill(t *testing.T) {
	f := newServiceFixture(t)
	if _, err := f.svc.Kill(); err == nil || len(f.killed) != 0 {
		t.Errorf("Kill of a stopped router = %v, killed %v", err, f.killed)
	}
	f.unit.st = supervise.Status{State: supervise.Running, Pid: 77}
	pid, err := f.svc.Kill()
	if err != nil || pid != 77 || !cmp.Equal(f.killed, []int{77}) {
		t.Errorf("Kill = %d, %v; killed %v", pid, err, f.killed)
	}
	if !strings.Contains(f.log.String(), "TEST HOOK") {
		t.Errorf("kill not logged as a test hook: %q", f.log.String())
	}
}

func TestServiceReport(t *testing.T) {
	f := newServiceFixture(t)
	f.rss(t, 42, 600)
	f.unit.lines = []supervise.LogLine{
		{Stream: "stderr", Text: "FATAL cannot bind"},
		{Stream: "supervise", Text: "exited: exit status 1"},
	}
	for _, st := range []supervise.Status{
		{Name: "charon", State: supervise.Running, Healthy: true, Pid: 9}, // not ours
		{Name: UnitName, State: supervise.Running, Pid: 42},
		{Name: UnitName, State: supervise.Running, Pid: 42}, // no change: quiet
		{Name: UnitName, State: supervise.Running, Pid: 42, Healthy: true},
		{Name: UnitName, State: supervise.Backoff, LastExit: "exit status 1"},
	} {
		f.sup.c <- st
	}
	close(f.sup.c)
	f.svc.Report(context.Background())
	want := []string{
		`level=INFO msg="router: running, connecting to its controller"`,
		`level=INFO msg="router: connected to its controller (pid 42, VmRSS 600 kB)"`,
		`level=WARN msg="router: restarting after exit status 1" last_output="FATAL cannot bind"`,
	}
	got := strings.Split(strings.TrimSpace(f.log.String()), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func TestNilServiceIsHarmless(t *testing.T) {
	var none *Service
	if err := none.Start(); err != nil {
		t.Errorf("Start = %v", err)
	}
	none.Report(context.Background())
	if _, err := none.Kill(); err == nil {
		t.Error("Kill on no router: no error")
	}
	if err := none.Unenroll(context.Background()); err == nil {
		t.Error("Unenroll on no router: no error")
	}
	if err := none.CheckToken([]byte("x")); err == nil {
		t.Error("CheckToken accepted garbage")
	}
}
