package supervise

import (
	"context"
	"fmt"
	"time"
)

// Defaults for the zero values of Service's durations.
const (
	DefaultPrepareTimeout = 30 * time.Second
	DefaultProbeInterval  = 5 * time.Second
	DefaultStopGrace      = 10 * time.Second
	DefaultBackoffMin     = 250 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	DefaultStableAfter    = 30 * time.Second
)

// Service says how to run one daemon.
type Service struct {
	Name string   // unique; also the log file's name
	Path string   // absolute path of the program
	Args []string // arguments after argv[0]
	Env  []string // nil inherits the supervisor's environment
	Dir  string   // working directory; "" is the supervisor's

	// Prepare, if set, runs before every start; an error counts as a
	// failed start and is retried with backoff. The router needs its
	// address added and old intercepts flushed before each start.
	Prepare        func(ctx context.Context) error
	PrepareTimeout time.Duration

	// Probe, if set, runs every ProbeInterval while the process runs and
	// sets Status.Healthy. After ProbeFailuresToRestart failures in a row
	// (0: never) the process is restarted as if it had crashed.
	Probe                  func(ctx context.Context) error
	ProbeInterval          time.Duration
	ProbeTimeout           time.Duration // default: ProbeInterval
	ProbeFailuresToRestart int

	// StopGrace is how long a stop waits after SIGTERM before SIGKILL.
	StopGrace time.Duration

	// After a failed run (or start) the next start waits BackoffMin,
	// doubling with each failure in a row up to BackoffMax. A run that
	// lasted StableAfter resets the count. After GiveUpAfter failures in
	// a row (0: never) the service is left Failed until started again.
	BackoffMin  time.Duration
	BackoffMax  time.Duration
	StableAfter time.Duration
	GiveUpAfter int
}

func (s Service) withDefaults() Service {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.PrepareTimeout, DefaultPrepareTimeout)
	def(&s.ProbeInterval, DefaultProbeInterval)
	def(&s.ProbeTimeout, s.ProbeInterval)
	def(&s.StopGrace, DefaultStopGrace)
	def(&s.BackoffMin, DefaultBackoffMin)
	def(&s.BackoffMax, DefaultBackoffMax)
	def(&s.StableAfter, DefaultStableAfter)
	return s
}

func (s Service) validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("service has no name")
	case !validName(s.Name):
		return fmt.Errorf("service %q: name must be letters, digits, '-', '_' or '.'", s.Name)
	case s.Path == "":
		return fmt.Errorf("service %q: no path", s.Name)
	}
	return nil
}

func validName(n string) bool {
	if n == "." || n == ".." {
		return false
	}
	for _, r := range n {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// backoff returns the wait before the next start after failures failed
// runs in a row (failures >= 1).
func (s Service) backoff(failures int) time.Duration {
	d := s.BackoffMin
	for i := 1; i < failures && d < s.BackoffMax; i++ {
		d *= 2
	}
	return min(d, s.BackoffMax)
}

// State is where a service is in its life cycle.
type State string

const (
	Stopped  State = "stopped"  // not wanted, no process
	Starting State = "starting" // running Prepare or exec
	Running  State = "running"  // process alive
	Stopping State = "stopping" // SIGTERM sent, waiting for it to go
	Backoff  State = "backoff"  // ended or failed to start; restarts at NextStart
	Failed   State = "failed"   // gave up after GiveUpAfter failures in a row
)

// Status is a snapshot of a service for the status page and alarms.
type Status struct {
	Name       string
	State      State
	Pid        int       // 0 unless Running or Stopping
	Started    time.Time // when the current or last process started
	Restarts   int       // starts after the first one
	Failures   int       // failed runs in a row; drives the backoff
	NextStart  time.Time // set in Backoff
	LastExit   string    // "exit status 1", "signal: SIGKILL", "prepare: ..."
	LastExitAt time.Time
	Healthy    bool      // last probe passed (no probe: Running)
	ProbeError string    // last probe's error, "" if it passed
	ProbeAt    time.Time // when the last probe finished
}
