package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tunneler/tunneler/appliance/opmenu"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/ziti"
)

// routerUnit is the supervised service's name (and its log file's).
const routerUnit = "ziti-router"

// boxRouter is boot step 10: the OpenZiti edge router under the
// supervisor, and what the console and web UI do with it.
type boxRouter struct {
	b    *box
	r    *ziti.Router
	unit *supervise.Unit
	mu   sync.Mutex // one enrollment (or un-enrollment) at a time
	// started is closed once boot may start the router: after the XFRM
	// policies are in (startIPsec), so nothing it sends toward a remote
	// network can leave in clear.
	started chan struct{}
	once    sync.Once
}

// setupRouter adds the router to the supervisor (not started yet) and
// finishes or undoes an enrollment a power cut interrupted.
func (b *box) setupRouter() {
	if b.sup == nil || !b.perm.Mounted {
		return
	}
	cfg := b.cfg.WithDefaults()
	zr := &boxRouter{b: b, r: ziti.New(cfg.Router, b.reaper.Run), started: make(chan struct{})}
	path, args := zr.r.Command()
	unit, err := b.sup.Add(supervise.Service{
		Name:    routerUnit,
		Path:    path,
		Args:    args,
		Prepare: zr.r.Prepare, // render config, inside address on lo, flush intercepts
		Probe:   zr.r.Probe,   // nil while connected to the controller
		// A lost controller is not cured by a restart: the router
		// reconnects by itself, so no ProbeFailuresToRestart. A short
		// interval so status follows the router within seconds.
		ProbeInterval: 2 * time.Second,
		ProbeTimeout:  2 * time.Second,
		StopGrace:     5 * time.Second,
		BackoffMax:    5 * time.Second,
	})
	if err != nil {
		b.problem("router: %v", err)
		return
	}
	zr.unit = unit
	if err := zr.r.Tidy(); err != nil {
		b.log.Warn("router: tidy identity", "err", err)
	}
	b.router = zr
	go zr.report()
}

// startRouter is boot step 10, run once the IPsec policies are in: the
// router starts if it is enrolled.
func (b *box) startRouter() {
	zr := b.router
	if zr == nil {
		return
	}
	zr.once.Do(func() { close(zr.started) })
	e, err := zr.r.Enrolled()
	if err != nil {
		b.log.Info("router: not enrolled; enroll it from the console menu or the web UI")
		return
	}
	if b.policiesMissing() {
		// Fail closed: without them, what the router sends toward a
		// remote network would take the default route, in clear.
		b.problem("router: NOT started: the IPsec policies for the tunnels are not in the kernel (see above)")
		return
	}
	b.log.Info("router: starting", "router_id", e.RouterID, "controllers", strings.Join(e.Controllers, " "))
	if err := zr.unit.Start(); err != nil {
		b.problem("router: start: %v", err)
	}
}

// policiesMissing reports whether the config has policy-mode tunnels but
// the kernel holds no XFRM policy of ours (installing them failed).
func (b *box) policiesMissing() bool { return b.sites.PoliciesMissing() }

// report logs every change of the router's connection to its controller,
// so the console says when it connects, loses it and gets it back.
func (zr *boxRouter) report() {
	c, _ := zr.b.sup.Subscribe(16)
	last := ""
	for st := range c {
		if st.Name != routerUnit {
			continue
		}
		now := routerLine(st, true)
		if now == last {
			continue
		}
		last = now
		switch {
		case st.Healthy && st.Pid > 0:
			zr.b.log.Info("router: " + now + rssNote(st.Pid))
		case st.State == supervise.Backoff:
			// Why it ended, in its own words (its full log is on /perm).
			zr.b.log.Warn("router: "+now, "last_output", zr.lastOutput(st.LastExitAt.Add(-2*time.Second)))
		default:
			zr.b.log.Info("router: " + now)
		}
	}
}

// lastOutput is the router's last line of output since t, shortened.
func (zr *boxRouter) lastOutput(t time.Time) string {
	lines := zr.unit.Lines(t)
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

// routerLine says in words what the router is doing.
func routerLine(st supervise.Status, enrolled bool) string {
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

// RouterState is the router's state for the banner, the console and the
// web UI (which maps it onto webui.RouterStatus).
type RouterState struct {
	Enrolled  bool
	Connected bool
	State     string // supervise's state: running, backoff, stopped, ...
	Detail    string // one line in words
	RouterID  string
	Pid       int
	RSSKiB    int // resident memory, 0 when not running
}

// routerStatus is the router's state now; the web UI's status calls it.
func (b *box) routerStatus() RouterState {
	zr := b.router
	if zr == nil {
		return RouterState{State: "unavailable", Detail: "unavailable (no /perm or no supervisor)"}
	}
	st := zr.unit.Status()
	rs := RouterState{State: string(st.State), Pid: st.Pid}
	if e, err := zr.r.Enrolled(); err == nil {
		rs.Enrolled, rs.RouterID = true, e.RouterID
	}
	rs.Connected = rs.Enrolled && st.State == supervise.Running && st.Healthy
	rs.Detail = routerLine(st, rs.Enrolled)
	if st.Pid > 0 {
		rs.RSSKiB = rssKiB(st.Pid)
	}
	return rs
}

// bannerRouter is the banner's router line.
func (b *box) bannerRouter() string {
	rs := b.routerStatus()
	line := rs.Detail
	if rs.Enrolled && rs.RouterID != "" {
		line += " (router " + rs.RouterID + ")"
	}
	if rs.Connected && rs.RSSKiB > 0 {
		line += fmt.Sprintf(", %d KiB resident", rs.RSSKiB)
	}
	return line
}

func rssNote(pid int) string {
	if kib := rssKiB(pid); kib > 0 {
		return fmt.Sprintf(" (pid %d, VmRSS %d kB)", pid, kib)
	}
	return ""
}

// rssKiB reads VmRSS from /proc/PID/status.
func rssKiB(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
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

// enrollRouter checks the token, enrolls, and (re)starts the router. The
// running router (if any) keeps running until the new identity is in
// place, so a refused token leaves the box exactly as it was. progress
// hears each step in words.
func (b *box) enrollRouter(ctx context.Context, jwt []byte, progress func(string)) error {
	zr := b.router
	if zr == nil {
		return errors.New("the router cannot be enrolled: /perm is not mounted or the supervisor did not start")
	}
	if _, err := os.Stat(ziti.DefaultBinary); err != nil {
		return errors.New("the router program is missing from this image's slot (" + ziti.DefaultBinary + ")")
	}
	if _, err := ziti.ParseToken(jwt, time.Now()); err != nil {
		return err
	}
	zr.mu.Lock()
	defer zr.mu.Unlock()
	zr.r.Progress = progress
	defer func() { zr.r.Progress = nil }()
	b.log.Info("router: enrollment started")
	e, err := zr.r.Enroll(ctx, jwt)
	if err != nil {
		b.log.Warn("router: enrollment failed; nothing changed", "err", err)
		return err
	}
	b.log.Info("router: enrolled", "router_id", e.RouterID, "controllers", strings.Join(e.Controllers, " "))
	if progress != nil {
		progress("starting the router")
	}
	// Restart (not Start): a running router holds the old identity.
	if err := zr.unit.Restart(ctx); err != nil {
		return fmt.Errorf("enrolled, but starting the router failed: %w", err)
	}
	return nil
}

// unenrollRouter stops the router and removes its identity.
func (b *box) unenrollRouter(ctx context.Context) error {
	zr := b.router
	if zr == nil {
		return errors.New("the router is not available")
	}
	zr.mu.Lock()
	defer zr.mu.Unlock()
	if err := zr.unit.Stop(ctx); err != nil {
		return fmt.Errorf("stop the router: %w", err)
	}
	if err := zr.r.Unenroll(); err != nil {
		return err
	}
	b.log.Info("router: un-enrolled; identity removed")
	return nil
}

// killRouter is the debug menu's test hook: SIGKILL to the router, as a
// crash would; the supervisor restarts it.
func (b *box) killRouter() (int, error) {
	zr := b.router
	if zr == nil {
		return 0, errors.New("the router is not available")
	}
	pid := zr.unit.Status().Pid
	if pid <= 0 {
		return 0, errors.New("the router is not running")
	}
	b.log.Warn("router: killed with SIGKILL from the console debug entry", "pid", pid)
	return pid, syscall.Kill(pid, syscall.SIGKILL)
}

// routerMenu is the console menu's view of the router.
func (b *box) routerMenu() *opmenu.Router {
	return &opmenu.Router{
		Status: func() string { return b.bannerRouter() },
		Enrolled: func() bool {
			return b.routerStatus().Enrolled
		},
		Enroll: func(ctx context.Context, jwt []byte, progress func(string)) error {
			return b.enrollRouter(ctx, jwt, progress)
		},
		Unenroll: b.unenrollRouter,
		Kill:     b.killRouter,
		Check: func(jwt []byte) error {
			_, err := ziti.ParseToken(jwt, time.Now())
			return err
		},
	}
}
