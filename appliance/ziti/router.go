package ziti

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/vishvananda/netns"
)

// Runner runs a short command to completion and returns its combined
// output; a non-zero exit is an error. supervise.Reaper.Run has this
// shape: in PID 1 every child must be waited for by the reaper.
type Runner func(ctx context.Context, cmd *exec.Cmd) ([]byte, error)

// RunCommand is a Runner for programs that own their children (tests,
// tools): exec.Cmd's own wait.
func RunCommand(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	if cmd.Cancel == nil && ctx != nil {
		c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
		c.Args, c.Env, c.Dir, c.SysProcAttr = cmd.Args, cmd.Env, cmd.Dir, cmd.SysProcAttr
		cmd = c
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, &exitError{cmd: cmd.Path, err: err, out: out}
	}
	return out, nil
}

type exitError struct {
	cmd string
	err error
	out []byte
}

func (e *exitError) Error() string {
	return "run " + e.cmd + ": " + e.err.Error() + ": " + string(e.out)
}
func (e *exitError) Unwrap() error { return e.err }

// Router is the box's edge router: its files on /perm, enrollment, and
// the hooks appliance/supervise runs it with. The zero value is not
// usable: set Run (and Settings.Router from the box's config).
type Router struct {
	// Binary is the router program (DefaultBinary when "").
	Binary string
	// Run starts short commands (enrollment); init passes reaper.Run.
	Run Runner
	// NetNS, when above 0, is the network namespace Prepare and Probe
	// act in; 0 (the zero value) is the caller's own. Tests use their own.
	NetNS netns.NsHandle
	// Now is the clock tokens are checked against (time.Now when nil).
	Now func() time.Time
	// Progress, if set, hears each step of an enrollment in words, for
	// the web UI and console to show while Enroll runs.
	Progress func(step string)

	mu       sync.Mutex
	settings Settings
	client   *http.Client
}

// New returns a Router for the box's router settings, running commands
// through run. Diverter, ports and paths take their defaults; change them
// with SetSettings.
func New(r config.Router, run Runner) *Router {
	rt := &Router{Run: run}
	rt.SetSettings(Settings{Router: r})
	return rt
}

// SetSettings replaces the settings; the running router sees them at
// its next start (Prepare renders the config). Controllers are always
// taken from the enrollment, so s.Controllers may be left empty.
func (r *Router) SetSettings(s Settings) {
	s = s.withDefaults()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settings = s
	r.client = nil // its CA path may have changed
}

// Settings returns the current settings, defaults filled in.
func (r *Router) Settings() Settings {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settings
}

// Paths is where the router's files are.
func (r *Router) Paths() Paths { return r.Settings().Paths }

// Command is what supervise runs: `ziti-router run CONFIG`.
func (r *Router) Command() (path string, args []string) {
	return r.binary(), []string{"run", r.Paths().Config}
}

func (r *Router) inNS() bool { return r.NetNS > 0 }

func (r *Router) binary() string {
	if r.Binary == "" {
		return DefaultBinary
	}
	return r.Binary
}

func (r *Router) progress(format string, args ...any) {
	if r.Progress != nil {
		r.Progress(fmt.Sprintf(format, args...))
	}
}

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
