package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// reaperSweep is how often the reap loop calls wait4 even without a
// SIGCHLD. Signals coalesce and the runtime's delivery is best effort for
// our purposes, so a periodic sweep guarantees no zombie lingers; it also
// serves as the loop's heartbeat.
const reaperSweep = time.Second

// ExitStatus is how a child ended, as wait4 reported it.
type ExitStatus struct {
	Pid    int
	Status unix.WaitStatus
	Time   time.Time
}

// Success reports whether the child exited with status 0.
func (e ExitStatus) Success() bool { return e.Status.Exited() && e.Status.ExitStatus() == 0 }

// String describes the exit the way exec.ExitError does.
func (e ExitStatus) String() string {
	switch {
	case e.Status.Exited():
		return fmt.Sprintf("exit status %d", e.Status.ExitStatus())
	case e.Status.Signaled():
		s := "signal: " + unix.SignalName(e.Status.Signal())
		if e.Status.CoreDump() {
			s += " (core dumped)"
		}
		return s
	default:
		return fmt.Sprintf("wait status %#x", uint32(e.Status))
	}
}

// Reaper owns every wait4 call in the process. It reaps on SIGCHLD and on a
// periodic sweep, delivers each exit status to the channel registered for
// that pid, and discards orphans (processes re-parented to us) after
// reporting them to the OnOrphan callback.
type Reaper struct {
	onOrphan func(ExitStatus)

	// mu is held across fork+register in Start and across each
	// wait4+lookup in the loop, so a child that exits at once is never
	// reaped before its waiter is registered. Holding it during wait4 also
	// keeps the loop from stealing the child that os.StartProcess reaps
	// itself when exec fails.
	mu      sync.Mutex
	waiters map[int]chan ExitStatus
	closed  bool

	orphans atomic.Uint64
	beat    atomic.Int64 // unix nanos of the loop's last turn

	sigc chan os.Signal
	quit chan struct{}
	done chan struct{}
}

// NewReaper starts reaping children of this process. onOrphan, if not nil,
// is called from the reap loop for every reaped process nobody registered;
// it must not block. Only one Reaper may run in a process: two would steal
// each other's children.
func NewReaper(onOrphan func(ExitStatus)) *Reaper {
	r := &Reaper{
		onOrphan: onOrphan,
		waiters:  make(map[int]chan ExitStatus),
		sigc:     make(chan os.Signal, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	r.beat.Store(time.Now().UnixNano())
	signal.Notify(r.sigc, unix.SIGCHLD)
	go r.loop()
	return r
}

func (r *Reaper) loop() {
	defer close(r.done)
	t := time.NewTicker(reaperSweep)
	defer t.Stop()
	for {
		r.reapAll()
		select {
		case <-r.sigc:
		case <-t.C:
		case <-r.quit:
			return
		}
	}
}

// reapAll collects every child that has exited so far.
func (r *Reaper) reapAll() {
	r.beat.Store(time.Now().UnixNano())
	for {
		var ws unix.WaitStatus
		r.mu.Lock()
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			r.mu.Unlock()
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none exited yet
			r.mu.Unlock()
			return
		}
		st := ExitStatus{Pid: pid, Status: ws, Time: time.Now()}
		c, ok := r.waiters[pid]
		delete(r.waiters, pid)
		r.mu.Unlock()
		if ok {
			c <- st // buffered, one send per registration
			continue
		}
		r.orphans.Add(1)
		if r.onOrphan != nil {
			r.onOrphan(st)
		}
	}
}

// Start starts cmd and returns a channel that receives its exit status
// exactly once. Never call cmd.Wait. cmd's Stdin, Stdout and Stderr must be
// nil or *os.File: other readers and writers make exec.Cmd copy in
// goroutines that only Wait would clean up. Do not use exec.CommandContext
// for the same reason; cancel by signalling the process.
func (r *Reaper) Start(cmd *exec.Cmd) (<-chan ExitStatus, error) {
	for _, s := range []struct {
		name string
		v    any
	}{{"stdin", cmd.Stdin}, {"stdout", cmd.Stdout}, {"stderr", cmd.Stderr}} {
		if s.v == nil {
			continue
		}
		if _, ok := s.v.(*os.File); !ok {
			return nil, fmt.Errorf("start %s: %s must be nil or *os.File, not %T", cmd.Path, s.name, s.v)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("start %s: reaper closed", cmd.Path)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	c := make(chan ExitStatus, 1)
	r.waiters[cmd.Process.Pid] = c
	return c, nil
}

// Run starts cmd, waits for it to end and returns its combined stdout and
// stderr, for the short commands init runs (mkfs) while
// the Reaper owns waiting. If ctx ends first the process is killed. A
// non-zero exit is an error that includes the exit status and output.
func (r *Reaper) Run(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	if cmd.Stdout != nil || cmd.Stderr != nil {
		return nil, fmt.Errorf("run %s: Stdout and Stderr must be nil; Run collects them", cmd.Path)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: pipe: %w", cmd.Path, err)
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	exit, err := r.Start(cmd)
	pw.Close()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(&out, pr)
	}()
	var st ExitStatus
	select {
	case st = <-exit:
	case <-ctx.Done():
		cmd.Process.Kill()
		st = <-exit
	}
	// A grandchild may keep the pipe open; don't wait for it for ever.
	select {
	case <-copied:
	case <-time.After(time.Second):
		pr.Close()
		<-copied
	}
	cmd.Process.Release()
	if err := ctx.Err(); err != nil {
		return out.Bytes(), fmt.Errorf("run %s: %w (%s)", cmd.Path, err, st)
	}
	if !st.Success() {
		return out.Bytes(), fmt.Errorf("run %s: %s: %s", cmd.Path, st, bytes.TrimSpace(out.Bytes()))
	}
	return out.Bytes(), nil
}

// Orphans is how many unregistered processes the Reaper has reaped.
func (r *Reaper) Orphans() uint64 { return r.orphans.Load() }

// Alive returns an error if the reap loop has not turned within maxAge.
func (r *Reaper) Alive(maxAge time.Duration) error {
	last := time.Unix(0, r.beat.Load())
	if age := time.Since(last); age > maxAge {
		return fmt.Errorf("reap loop stalled for %v", age.Round(time.Millisecond))
	}
	return nil
}

// Close stops the reap loop. Children still registered never get their
// status; Close is for tests and the very end of shutdown.
func (r *Reaper) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("reaper already closed")
	}
	r.closed = true
	r.mu.Unlock()
	signal.Stop(r.sigc)
	close(r.quit)
	<-r.done
	return nil
}
