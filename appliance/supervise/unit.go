package supervise

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// maxLineBytes splits longer output lines, bounding ring memory.
	maxLineBytes = 4096
	// outputDrain is how long a run's output pipes stay open after its
	// process group is gone: a descendant that escaped the group could
	// hold them open for ever.
	outputDrain = time.Second
)

// ErrClosed is returned by a Unit whose Supervisor has been closed.
var ErrClosed = errors.New("supervisor closed")

// Unit is one supervised service: its loop, its output and its status.
type Unit struct {
	svc  Service
	sup  *Supervisor
	ring *ring
	file *logFile // nil without a log dir

	reqs chan request
	done chan struct{}
	beat atomic.Int64 // unix nanos of the loop's last turn

	mu sync.Mutex
	st Status

	fileErrs atomic.Uint64
}

type op int

const (
	opStart op = iota
	opStop
	opRestart
	opQuit
)

type request struct {
	op    op
	reply chan error
}

// run is one started process.
type run struct {
	pid     int
	started time.Time
	exit    <-chan ExitStatus
	cmd     *exec.Cmd
	readers []*os.File
	cancel  context.CancelFunc // ends the probe
	why     string             // set when we stop it for a reason of our own
}

type startResult struct {
	run *run
	err error
}

// Name is the service's name.
func (u *Unit) Name() string { return u.svc.Name }

// Status returns a snapshot of the service's state.
func (u *Unit) Status() Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.st
}

// Lines returns the buffered output lines stamped after since, oldest
// first. Pass the Time of the last line seen to get only newer ones.
func (u *Unit) Lines(since time.Time) []LogLine { return u.ring.since(since) }

// Start asks for the service to run. It returns at once; a service that
// had given up (Failed) starts again with its backoff reset.
func (u *Unit) Start() error { return u.ask(context.Background(), opStart) }

// Stop stops the service: SIGTERM to its process group, SIGKILL after the
// grace period. It returns once the process is gone, or when ctx ends.
func (u *Unit) Stop(ctx context.Context) error { return u.ask(ctx, opStop) }

// Restart stops the running process like Stop and starts it again at once,
// with the backoff reset. It returns once the old process is gone and the
// new start has begun, or when ctx ends.
func (u *Unit) Restart(ctx context.Context) error { return u.ask(ctx, opRestart) }

func (u *Unit) ask(ctx context.Context, o op) error {
	r := request{op: o, reply: make(chan error, 1)}
	select {
	case u.reqs <- r:
	case <-u.done:
		return fmt.Errorf("%s: %w", u.svc.Name, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", u.svc.Name, ctx.Err())
	}
	select {
	case err := <-r.reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", u.svc.Name, ctx.Err())
	}
}

// set changes the status and publishes the result. Publishing under the
// lock keeps subscribers' view in order.
func (u *Unit) set(f func(*Status)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	before := u.st
	f(&u.st)
	if u.st != before {
		u.sup.publish(u.st)
	}
}

// record stores one line of output or of supervisor events.
func (u *Unit) record(stream, text string) {
	if u.sup.redact != nil {
		text = u.sup.redact(text)
	}
	l := u.ring.add(LogLine{Time: time.Now(), Stream: stream, Text: strings.ToValidUTF8(text, "\uFFFD")})
	if u.file == nil {
		return
	}
	if err := u.file.write(l); err != nil && u.fileErrs.Add(1) == 1 {
		// Once is enough: a full /perm would otherwise flood the console.
		u.sup.logf("supervise: %s: %v (further log file errors not reported)", u.svc.Name, err)
	}
}

// event records something the supervisor did or saw.
func (u *Unit) event(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	u.record("supervise", msg)
	u.sup.logf("supervise: %s: %s", u.svc.Name, msg)
}

// loop owns the service's process: every state change happens here.
type loop struct {
	u         *Unit
	want      bool
	cur       *run
	stopping  bool // SIGTERM sent to cur
	restart   bool // start again at once when cur ends
	quitting  bool
	starting  context.CancelFunc // a start is in flight
	startc    chan startResult
	backoff   *time.Timer
	kill      *time.Timer
	failures  int
	everRan   bool
	waiters   []chan error
	unhealthy chan unhealthy
}

// unhealthy asks the loop to restart a run that failed its probes.
type unhealthy struct {
	r   *run
	why string
}

func (u *Unit) loop() {
	defer close(u.done)
	l := &loop{u: u, unhealthy: make(chan unhealthy, 1)}
	tick := time.NewTicker(u.sup.heartbeat)
	defer tick.Stop()
	for {
		u.beat.Store(time.Now().UnixNano())
		var exitc <-chan ExitStatus
		if l.cur != nil {
			exitc = l.cur.exit
		}
		select {
		case <-tick.C:
		case r := <-u.reqs:
			l.handle(r)
		case res := <-l.startc:
			l.started(res)
		case st := <-exitc:
			l.exited(st)
		case <-timerC(l.kill):
			l.kill = nil
			u.event("pid %d still there %v after SIGTERM: SIGKILL to its group", l.cur.pid, u.svc.StopGrace)
			killGroup(l.cur.pid, unix.SIGKILL)
		case <-timerC(l.backoff):
			l.backoff = nil
			if l.want {
				l.start()
			}
		case h := <-l.unhealthy:
			if h.r == l.cur && !l.stopping {
				l.stop(h.why)
			}
		}
		if l.quitting && l.cur == nil && l.starting == nil {
			l.reply(nil)
			return
		}
	}
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func (l *loop) reply(err error) {
	for _, w := range l.waiters {
		w <- err
	}
	l.waiters = nil
}

func (l *loop) cancelBackoff() {
	if l.backoff != nil {
		l.backoff.Stop()
		l.backoff = nil
	}
}

func (l *loop) handle(r request) {
	u := l.u
	busy := l.cur != nil || l.starting != nil
	switch r.op {
	case opStart:
		if !l.want || u.Status().State == Failed {
			l.failures = 0
		}
		l.want = true
		if !busy {
			l.cancelBackoff()
			l.start()
		}
		r.reply <- nil
	case opRestart:
		l.want = true
		l.failures = 0
		switch {
		case l.cur != nil:
			l.restart = true
			l.waiters = append(l.waiters, r.reply)
			l.stop("restart requested")
		case l.starting != nil:
			r.reply <- nil // already on its way up
		default:
			l.cancelBackoff()
			l.start()
			r.reply <- nil
		}
	case opStop, opQuit:
		l.want = false
		l.restart = false
		l.quitting = l.quitting || r.op == opQuit
		l.cancelBackoff()
		switch {
		case l.cur != nil:
			l.waiters = append(l.waiters, r.reply)
			l.stop("stop requested")
		case l.starting != nil:
			l.waiters = append(l.waiters, r.reply)
			l.starting() // abandon Prepare; started() stops what got started
		default:
			u.set(func(s *Status) { s.State, s.NextStart = Stopped, time.Time{} })
			if !l.quitting {
				r.reply <- nil
			} else {
				l.waiters = append(l.waiters, r.reply)
			}
		}
	}
}

// start begins a start attempt: Prepare and exec run off the loop so a
// slow Prepare does not stall stop requests or the heartbeat.
func (l *loop) start() {
	u := l.u
	if l.everRan {
		u.set(func(s *Status) { s.Restarts++ })
	}
	l.everRan = true
	u.set(func(s *Status) { s.State, s.NextStart = Starting, time.Time{} })
	ctx, cancel := context.WithCancel(context.Background())
	l.starting = cancel
	l.startc = make(chan startResult, 1)
	go func(c chan<- startResult) {
		r, err := u.startProcess(ctx)
		c <- startResult{r, err}
	}(l.startc)
}

func (l *loop) started(res startResult) {
	u := l.u
	l.starting()
	l.starting, l.startc = nil, nil
	if res.err != nil {
		u.event("start failed: %v", res.err)
		u.set(func(s *Status) { s.LastExit, s.LastExitAt = res.err.Error(), time.Now() })
		l.ended()
		return
	}
	r := res.run
	l.cur = r
	u.event("started pid %d", r.pid)
	u.set(func(s *Status) {
		s.State, s.Pid, s.Started = Running, r.pid, r.started
		s.Healthy, s.ProbeError, s.ProbeAt = u.svc.Probe == nil, "", time.Time{}
	})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if u.svc.Probe != nil {
		go u.probe(ctx, r, l.unhealthy)
	}
	if !l.want {
		l.stop("stop requested while starting")
	}
}

// stop sends SIGTERM to the running process group and arms the SIGKILL.
func (l *loop) stop(why string) {
	if l.stopping {
		return
	}
	u := l.u
	l.stopping = true
	l.cur.why = why
	u.event("%s: SIGTERM to pid %d and its group", why, l.cur.pid)
	u.set(func(s *Status) { s.State = Stopping })
	killGroup(l.cur.pid, unix.SIGTERM)
	l.kill = time.NewTimer(u.svc.StopGrace)
}

func (l *loop) exited(st ExitStatus) {
	u := l.u
	r := l.cur
	l.cur, l.stopping = nil, false
	if l.kill != nil {
		l.kill.Stop()
		l.kill = nil
	}
	r.cancel()
	// The group dies with its leader: leftovers could hold ports or files
	// the next start needs.
	killGroup(r.pid, unix.SIGKILL)
	time.AfterFunc(outputDrain, func() {
		for _, f := range r.readers {
			f.Close()
		}
	})
	r.cmd.Process.Release()
	up := st.Time.Sub(r.started)
	reason := st.String()
	if r.why != "" {
		reason += " (" + r.why + ")"
	}
	u.event("pid %d ended after %v: %s", r.pid, up.Round(time.Millisecond), reason)
	u.set(func(s *Status) {
		s.Pid, s.LastExit, s.LastExitAt = 0, reason, st.Time
		s.Healthy = false
	})
	if up >= u.svc.StableAfter {
		l.failures = 0
	}
	l.ended()
}

// ended decides what follows a run or a failed start.
func (l *loop) ended() {
	u := l.u
	switch {
	case !l.want:
		u.set(func(s *Status) { s.State, s.NextStart = Stopped, time.Time{} })
		l.reply(nil)
	case l.restart:
		l.restart = false
		l.start()
		l.reply(nil)
	default:
		l.failures++
		u.set(func(s *Status) { s.Failures = l.failures })
		if n := u.svc.GiveUpAfter; n > 0 && l.failures >= n {
			u.event("giving up after %d failures in a row", l.failures)
			u.set(func(s *Status) { s.State, s.NextStart = Failed, time.Time{} })
			l.want = false
			l.reply(nil)
			return
		}
		d := u.svc.backoff(l.failures)
		u.event("restarting in %v (failure %d in a row)", d, l.failures)
		u.set(func(s *Status) { s.State, s.NextStart = Backoff, time.Now().Add(d) })
		l.backoff = time.NewTimer(d)
	}
	if l.failures == 0 {
		u.set(func(s *Status) { s.Failures = 0 })
	}
}

// startProcess runs Prepare, then starts the program in its own process
// group with its output piped into the ring and log file.
func (u *Unit) startProcess(ctx context.Context) (*run, error) {
	svc := u.svc
	if svc.Prepare != nil {
		pctx, cancel := context.WithTimeout(ctx, svc.PrepareTimeout)
		err := svc.Prepare(pctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start abandoned: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        svc.Path,
		Args:        append([]string{svc.Path}, svc.Args...),
		Env:         svc.Env,
		Dir:         svc.Dir,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: &unix.SysProcAttr{Setpgid: true},
	}
	exit, err := u.sup.reaper.Start(cmd)
	// The child has its copies; ours must go so the readers see EOF.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	go u.copyLines(outR, "stdout")
	go u.copyLines(errR, "stderr")
	return &run{
		pid:     cmd.Process.Pid,
		started: time.Now(),
		exit:    exit,
		cmd:     cmd,
		readers: []*os.File{outR, errR},
	}, nil
}

func (u *Unit) copyLines(f *os.File, stream string) {
	defer f.Close()
	br := bufio.NewReaderSize(f, maxLineBytes)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			u.record(stream, strings.TrimRight(string(b), "\r\n"))
		}
		if err == bufio.ErrBufferFull {
			continue // an over-long line goes in pieces
		}
		if err != nil {
			return
		}
	}
}

// probe checks health every ProbeInterval until ctx ends, and asks the loop
// to restart r after too many failures in a row.
func (u *Unit) probe(ctx context.Context, r *run, restart chan<- unhealthy) {
	svc := u.svc
	t := time.NewTicker(svc.ProbeInterval)
	defer t.Stop()
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, svc.ProbeTimeout)
		err := svc.Probe(pctx)
		cancel()
		var flipped bool
		u.set(func(s *Status) {
			if ctx.Err() != nil {
				return // the run ended while we probed
			}
			s.ProbeAt = time.Now()
			flipped = s.Healthy != (err == nil)
			s.Healthy = err == nil
			s.ProbeError = ""
			if err != nil {
				s.ProbeError = err.Error()
			}
		})
		if ctx.Err() != nil {
			return
		}
		if flipped {
			if err == nil {
				u.event("healthy")
			} else {
				u.event("unhealthy: %v", err)
			}
		}
		if err == nil {
			failed = 0
			continue
		}
		failed++
		if n := svc.ProbeFailuresToRestart; n > 0 && failed >= n {
			why := fmt.Sprintf("%d failed probes: %v", failed, err)
			select {
			case restart <- unhealthy{r, why}:
			case <-ctx.Done():
			}
			return
		}
	}
}

// killGroup signals the process group led by pid. ESRCH means it is gone
// already, which is what we wanted.
func killGroup(pid int, sig unix.Signal) {
	if pid <= 0 {
		return // never kill(0) or kill(-1)
	}
	unix.Kill(-pid, sig)
}
