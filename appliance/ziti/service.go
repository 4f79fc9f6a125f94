package ziti

import (
	"context"
	"errors"
	"fmt"
	"github.com/tunneler/tunneler/appliance/config"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/sysinfo"
)

// UnitName is the supervised router's name (and its log file's).
const UnitName = "ziti-router"

// Unit is the supervised router process: a *supervise.Unit.
type Unit interface {
	Status() supervise.Status
	Lines(since time.Time) []supervise.LogLine
	Start() error
	Stop(ctx context.Context) error
	Restart(ctx context.Context) error
}

// Supervisor runs the router; Supervised adapts a *supervise.Supervisor.
type Supervisor interface {
	Add(supervise.Service) (Unit, error)
	// Subscribe hears every status change of every service.
	Subscribe(buffer int) (<-chan supervise.Status, func())
}

// Supervised is s as a Supervisor.
func Supervised(s *supervise.Supervisor) Supervisor { return supervised{s} }

type supervised struct{ s *supervise.Supervisor }

func (s supervised) Add(svc supervise.Service) (Unit, error) { return s.s.Add(svc) }
func (s supervised) Subscribe(n int) (<-chan supervise.Status, func()) {
	return s.s.Subscribe(n)
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Supervisor Supervisor
	Router     *Router
	// PoliciesMissing reports whether the tunnels' XFRM policies should
	// be in the kernel but are not; the router then does not start.
	PoliciesMissing func() bool
	// Log gets the router's life: starts, connection changes, enrollment.
	Log *slog.Logger
	// Proc is where resident memory is read ("" is /proc).
	Proc string
	// Signal delivers the test hook's SIGKILL (syscall.Kill when nil).
	Signal func(pid int, sig syscall.Signal) error
}

// Service is the router's lifecycle on the box: under the supervisor,
// started only once the tunnels' policies are in, enrolled and
// un-enrolled from the console or the web UI, and its status in words.
// A nil *Service is a box without a router (no /perm or no supervisor):
// its status says so and its actions fail with a reason.
type Service struct {
	o    ServiceOptions
	r    *Router
	unit Unit
	mu   sync.Mutex // one enrollment (or un-enrollment) at a time
}

// NewService adds the router to the supervisor (not started yet) and
// finishes or undoes an enrollment a power cut interrupted.
func NewService(o ServiceOptions) (*Service, error) {
	if o.Supervisor == nil || o.Router == nil {
		return nil, errors.New("new router service: no supervisor or no router")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Signal == nil {
		o.Signal = syscall.Kill
	}
	s := &Service{o: o, r: o.Router}
	path, args := s.r.Command()
	unit, err := o.Supervisor.Add(supervise.Service{
		Name:    UnitName,
		Path:    path,
		Args:    args,
		Prepare: s.r.Prepare, // render config, inside address on lo, flush intercepts
		Probe:   s.r.Probe,   // nil while connected to the controller
		// A lost controller is not cured by a restart: the router
		// reconnects by itself, so no ProbeFailuresToRestart. A short
		// interval so status follows the router within seconds.
		ProbeInterval: 2 * time.Second,
		ProbeTimeout:  2 * time.Second,
		StopGrace:     5 * time.Second,
		BackoffMax:    5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("add the router to the supervisor: %w", err)
	}
	s.unit = unit
	if err := s.r.Tidy(); err != nil {
		o.Log.Warn("router: tidy identity", "err", err)
	}
	return s, nil
}

// Start starts the router if it is enrolled. Boot calls it once the
// IPsec policies are in, so nothing it sends toward a remote network can
// leave in clear; with policies missing it refuses (fail closed).
func (s *Service) Start() error {
	if s == nil {
		return nil
	}
	e, err := s.r.Enrolled()
	if err != nil {
		s.o.Log.Info("router: not enrolled; enroll it from the console menu or the web UI")
		return nil
	}
	if s.o.PoliciesMissing != nil && s.o.PoliciesMissing() {
		// Without them, what the router sends toward a remote network
		// would take the default route, in clear.
		return errors.New("NOT started: the IPsec policies for the tunnels are not in the kernel (see above)")
	}
	s.o.Log.Info("router: starting", "router_id", e.RouterID, "controllers", strings.Join(e.Controllers, " "))
	if err := s.unit.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	return nil
}

// Report logs every change of the router's connection to its
// controller until ctx ends, so the console says when it connects,
// loses it and gets it back.
func (s *Service) Report(ctx context.Context) {
	if s == nil {
		return
	}
	c, stop := s.o.Supervisor.Subscribe(16)
	defer stop()
	last := ""
	for {
		var st supervise.Status
		select {
		case <-ctx.Done():
			return
		case x, ok := <-c:
			if !ok {
				return
			}
			st = x
		}
		if st.Name != UnitName {
			continue
		}
		now := Line(st, true)
		if now == last {
			continue
		}
		last = now
		switch {
		case st.Healthy && st.Pid > 0:
			s.o.Log.Info("router: " + now + s.rssNote(st.Pid))
		case st.State == supervise.Backoff:
			// Why it ended, in its own words (its full log is on /perm).
			s.o.Log.Warn("router: "+now, "last_output", s.lastOutput(st.LastExitAt.Add(-2*time.Second)))
		default:
			s.o.Log.Info("router: " + now)
		}
	}
}

// rssNote is what the connected line says of the process; system tests
// read the figure from it.
func (s *Service) rssNote(pid int) string {
	if kib := sysinfo.ResidentKiB(s.o.Proc, pid); kib > 0 {
		return fmt.Sprintf(" (pid %d, VmRSS %d kB)", pid, kib)
	}
	return ""
}

// lastOutput is the router's last line of output since t, shortened.
func (s *Service) lastOutput(t time.Time) string {
	lines := s.unit.Lines(t)
	for i := len(lines) - 1; i >= 0; i-- {
		if l := lines[i]; l.Stream != "supervise" && strings.TrimSpace(l.Text) != "" {
			text := strings.TrimSpace(l.Text)
			if len(text) > 400 {
				text = text[:400] + "..."
			}
			return text
		}
	}
	return ""
}

// Line says in words what the router is doing.
func Line(st supervise.Status, enrolled bool) string {
	switch {
	case !enrolled:
		return "not enrolled"
	case st.State == supervise.Running && st.Healthy:
		return "connected to its controller"
	case st.State == supervise.Running && st.ProbeError != "":
		return "running, NOT connected to its controller: " + st.ProbeError
	case st.State == supervise.Running:
		return "running, connecting to its controller"
	case st.State == supervise.Stopped && st.Restarts == 0 && st.LastExit == "":
		return "enrolled; starts once the IPsec policies are in"
	case st.State == supervise.Backoff && st.LastExit != "":
		return "restarting after " + st.LastExit
	default:
		return string(st.State)
	}
}

// State is the router's state for the banner, the console and the web
// UI (whose adapter maps it onto its own type).
type State struct {
	Available bool // false: no /perm or no supervisor, nothing else is set
	Enrolled  bool
	Connected bool
	State     string // supervise's state: running, backoff, stopped, ...
	Detail    string // one line in words
	RouterID  string
	Pid       int
	RSSKiB    int // resident memory, 0 when not running
}

// Status is the router's state now.
func (s *Service) Status() State {
	if s == nil {
		return State{State: "unavailable", Detail: "unavailable (no /perm or no supervisor)"}
	}
	st := s.unit.Status()
	rs := State{Available: true, State: string(st.State), Pid: st.Pid}
	if e, err := s.r.Enrolled(); err == nil {
		rs.Enrolled, rs.RouterID = true, e.RouterID
	}
	rs.Connected = rs.Enrolled && st.State == supervise.Running && st.Healthy
	rs.Detail = Line(st, rs.Enrolled)
	if st.Pid > 0 {
		rs.RSSKiB = sysinfo.ResidentKiB(s.o.Proc, st.Pid)
	}
	return rs
}

// Summary is the state and the detail the web UI shows: "not enrolled"
// or "running" when those say it all, and no detail that repeats the
// state ("not enrolled: not enrolled").
func (rs State) Summary() (state, detail string) {
	state, detail = rs.State, rs.Detail
	switch {
	case !rs.Enrolled && rs.Available:
		state = "not enrolled"
	case rs.Connected:
		state = "running"
	}
	if detail == state {
		detail = ""
	}
	return state, detail
}

// BannerLine is the banner's (and the console's) router line.
func (rs State) BannerLine() string {
	line := rs.Detail
	if rs.Enrolled && rs.RouterID != "" {
		line += " (router " + rs.RouterID + ")"
	}
	if rs.Connected && rs.RSSKiB > 0 {
		line += fmt.Sprintf(", %d KiB resident", rs.RSSKiB)
	}
	return line
}

// BannerLine is Status().BannerLine().
func (s *Service) BannerLine() string { return s.Status().BannerLine() }

// Enroll checks the token, enrolls, and (re)starts the router. The
// running router (if any) keeps running until the new identity is in
// place, so a refused token leaves the box exactly as it was. progress
// hears each step in words.
func (s *Service) Enroll(ctx context.Context, jwt []byte, progress func(string)) error {
	if s == nil {
		return errors.New("the router cannot be enrolled: /perm is not mounted or the supervisor did not start")
	}
	if _, err := os.Stat(s.r.binary()); err != nil {
		return errors.New("the router program is missing from this image's slot (" + s.r.binary() + ")")
	}
	if _, err := ParseToken(jwt, s.r.now()); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.Progress = progress
	defer func() { s.r.Progress = nil }()
	s.o.Log.Info("router: enrollment started")
	e, err := s.r.Enroll(ctx, jwt)
	if err != nil {
		// err says "enrollment failed: ..." itself.
		s.o.Log.Warn("router: nothing changed", "err", err)
		return err
	}
	s.o.Log.Info("router: enrolled", "router_id", e.RouterID, "controllers", strings.Join(e.Controllers, " "))
	if progress != nil {
		progress("starting the router")
	}
	// Restart (not Start): a running router holds the old identity.
	if err := s.unit.Restart(ctx); err != nil {
		return fmt.Errorf("enrolled, but starting the router failed: %w", err)
	}
	return nil
}

// Unenroll stops the router and removes its identity.
func (s *Service) Unenroll(ctx context.Context) error {
	if s == nil {
		return errors.New("the router is not available")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.unit.Stop(ctx); err != nil {
		return fmt.Errorf("stop the router: %w", err)
	}
	if err := s.r.Unenroll(); err != nil {
		return err
	}
	s.o.Log.Info("router: un-enrolled; identity removed")
	return nil
}

// CheckToken decodes a token and says in plain words what is wrong with
// it (kind, issuer, expiry), before anything is touched.
func (s *Service) CheckToken(jwt []byte) error {
	now := time.Now()
	if s != nil {
		now = s.r.now()
	}
	_, err := ParseToken(jwt, now)
	return err
}

// Kill is the debug menu's test hook: SIGKILL to the router, as a crash
// would; the supervisor restarts it. It returns the pid killed.
func (s *Service) Kill() (int, error) {
	if s == nil {
		return 0, errors.New("the router is not available")
	}
	pid := s.unit.Status().Pid
	if pid <= 0 {
		return 0, errors.New("the router is not running")
	}
	s.o.Log.Warn("TEST HOOK: router killed with SIGKILL from the console debug entry", "pid", pid)
	return pid, s.o.Signal(pid, syscall.SIGKILL)
}

// StopForRestore stops the router while a restore replaces its identity.
func (s *Service) StopForRestore(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unit.Stop(ctx)
}

// StartAfterRestore runs the router with the restored settings and
// identity, if the backup held one: the same identity, so no new
// enrollment token is needed.
func (s *Service) StartAfterRestore(ctx context.Context, router config.Router) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.SetSettings(Settings{Router: router})
	if err := s.r.Tidy(); err != nil {
		s.o.Log.Warn("router: tidy the restored identity", "err", err)
	}
	e, err := s.r.Enrolled()
	if err != nil {
		s.o.Log.Info("router: the restored box has no router identity; not started")
		return nil
	}
	s.o.Log.Info("router: starting with the restored identity", "router_id", e.RouterID)
	return s.unit.Restart(ctx)
}
