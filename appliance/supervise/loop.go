package supervise

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// The loop: the one goroutine of a Unit that starts, stops, restarts and
// backs off its process, so every state change happens in one place.

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

// startResult is what a start in flight hands back to the loop.
type startResult struct {
	run *run
	err error
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
