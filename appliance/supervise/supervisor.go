package supervise

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configure a Supervisor.
type Options struct {
	// Reaper does all waiting; required. Init creates one for the whole
	// process and starts everything else through it too.
	Reaper *Reaper
	// LogDir, if set, gets <name>.log per service (on the box /perm/log),
	// rotated to <name>.log.1 past LogMaxBytes.
	LogDir      string
	LogMaxBytes int64 // default 1 MiB
	RingLines   int   // output lines kept per service; default 1000
	// Heartbeat is how often each service loop proves it is alive;
	// default 1s. Healthy fails when a loop misses three beats.
	Heartbeat time.Duration
	// Logf gets supervisor events (starts, exits, backoff); default
	// log.Printf.
	Logf func(format string, args ...any)
	// Redact, if set, rewrites every output line before it is kept, so
	// a secret a service prints (charon at a high log level, say) reaches
	// neither the ring the web UI reads nor the log file on /perm.
	Redact func(line string) string
}

// Supervisor runs a group of services.
type Supervisor struct {
	reaper    *Reaper
	logDir    string
	logMax    int64
	ringLines int
	heartbeat time.Duration
	logf      func(format string, args ...any)
	redact    func(string) string

	mu     sync.Mutex
	units  []*Unit
	closed bool

	subMu sync.Mutex
	subs  map[chan Status]struct{}
}

// New returns a Supervisor with no services.
func New(o Options) (*Supervisor, error) {
	if o.Reaper == nil {
		return nil, errors.New("new supervisor: no Reaper")
	}
	s := &Supervisor{
		reaper:    o.Reaper,
		logDir:    o.LogDir,
		logMax:    o.LogMaxBytes,
		ringLines: o.RingLines,
		heartbeat: o.Heartbeat,
		logf:      o.Logf,
		redact:    o.Redact,
		subs:      make(map[chan Status]struct{}),
	}
	if s.logMax <= 0 {
		s.logMax = 1 << 20
	}
	if s.ringLines <= 0 {
		s.ringLines = 1000
	}
	if s.heartbeat <= 0 {
		s.heartbeat = time.Second
	}
	if s.logf == nil {
		s.logf = log.Printf
	}
	if s.logDir != "" {
		if err := os.MkdirAll(s.logDir, 0o750); err != nil {
			return nil, fmt.Errorf("new supervisor: create log dir: %w", err)
		}
	}
	return s, nil
}

// Add registers a service, stopped. Services start in the order added and
// stop in reverse.
func (s *Supervisor) Add(svc Service) (*Unit, error) {
	if err := svc.validate(); err != nil {
		return nil, fmt.Errorf("add service: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("add service %q: %w", svc.Name, ErrClosed)
	}
	for _, u := range s.units {
		if u.svc.Name == svc.Name {
			return nil, fmt.Errorf("add service %q: already added", svc.Name)
		}
	}
	u := &Unit{
		svc:  svc.withDefaults(),
		sup:  s,
		ring: newRing(s.ringLines),
		reqs: make(chan request),
		done: make(chan struct{}),
		st:   Status{Name: svc.Name, State: Stopped},
	}
	if s.logDir != "" {
		f, err := openLogFile(filepath.Join(s.logDir, svc.Name+".log"), s.logMax)
		if err != nil {
			return nil, fmt.Errorf("add service %q: %w", svc.Name, err)
		}
		u.file = f
	}
	u.beat.Store(time.Now().UnixNano())
	s.units = append(s.units, u)
	go u.loop()
	return u, nil
}

// Unit returns the named service, or nil.
func (s *Supervisor) Unit(name string) *Unit {
	for _, u := range s.Units() {
		if u.svc.Name == name {
			return u
		}
	}
	return nil
}

// Units returns the services in the order they were added.
func (s *Supervisor) Units() []*Unit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Unit(nil), s.units...)
}

// StartAll asks every service to run, in the order added.
func (s *Supervisor) StartAll() error {
	var errs []error
	for _, u := range s.Units() {
		if err := u.Start(); err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", u.svc.Name, err))
		}
	}
	return errors.Join(errs...)
}

// StopAll stops every service, last added first, each waiting until its
// process is gone; ctx bounds the whole shutdown.
func (s *Supervisor) StopAll(ctx context.Context) error {
	units := s.Units()
	var errs []error
	for i := len(units) - 1; i >= 0; i-- {
		if err := units[i].Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", units[i].svc.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Close stops every service like StopAll, ends the service loops and
// closes the log files. The Reaper stays running: it belongs to init.
// Closing again does nothing.
func (s *Supervisor) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	err := s.StopAll(ctx)
	s.mu.Lock()
	s.closed = true
	units := s.units
	s.mu.Unlock()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for i := len(units) - 1; i >= 0; i-- {
		u := units[i]
		if err := u.ask(ctx, opQuit); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, fmt.Errorf("close %s: %w", u.svc.Name, err))
			continue
		}
		if u.file != nil {
			if err := u.file.close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s log: %w", u.svc.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Status returns every service's status, in the order added.
func (s *Supervisor) Status() []Status {
	var out []Status
	for _, u := range s.Units() {
		out = append(out, u.Status())
	}
	return out
}

// Healthy returns nil while supervision works: every service loop and the
// reap loop have turned recently. Init feeds the hardware watchdog only
// while it returns nil, so a wedged PID 1 reboots the box. A crashing
// service does not make supervision unhealthy; it shows in Status.
func (s *Supervisor) Healthy() error {
	var errs []error
	maxAge := 3 * s.heartbeat
	for _, u := range s.Units() {
		select {
		case <-u.done:
			errs = append(errs, fmt.Errorf("%s: loop ended", u.svc.Name))
			continue
		default:
		}
		if age := time.Since(time.Unix(0, u.beat.Load())); age > maxAge {
			errs = append(errs, fmt.Errorf("%s: loop stalled for %v", u.svc.Name, age.Round(time.Millisecond)))
		}
	}
	if err := s.reaper.Alive(3 * reaperSweep); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Subscribe returns a channel that receives every service's status after
// each change, and a function that ends the subscription. A subscriber
// that falls behind loses the oldest pending statuses, never the latest.
func (s *Supervisor) Subscribe(buffer int) (<-chan Status, func()) {
	c := make(chan Status, max(buffer, 1))
	s.subMu.Lock()
	s.subs[c] = struct{}{}
	s.subMu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, c)
			s.subMu.Unlock()
			close(c)
		})
	}
}

func (s *Supervisor) publish(st Status) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for c := range s.subs {
		for {
			select {
			case c <- st:
			default:
				select {
				case <-c: // drop the oldest to make room
				default:
				}
				continue
			}
			break
		}
	}
}
