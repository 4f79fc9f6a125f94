package supervise

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
