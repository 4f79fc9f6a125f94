package remotelog

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// QueueLen is how many lines wait for a slow or unreachable server
// before new ones are dropped: a few minutes of a busy box's log.
const QueueLen = 1024

// Backoff after a failed send: the queue fills (and then drops) instead
// of the sender spinning on a dead server.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 30 * time.Second
)

// hiddenText replaces a secret found in a line.
const hiddenText = "(hidden)"

// Forwarder sends messages to the configured target from its own
// goroutine. Send never blocks: with no target a message is discarded,
// with a full queue it is dropped and counted.
type Forwarder struct {
	q    chan Message
	wake chan struct{} // a new target ends a backoff early
	quit chan struct{}
	once sync.Once

	mu      sync.Mutex
	sender  *Sender // nil: forwarding is off
	secrets []string
	lastErr string

	sent, dropped atomic.Uint64
}

// Stats says how forwarding goes.
type Stats struct {
	Target    string // "" when off
	Sent      uint64
	Dropped   uint64 // queue full, or the send failed
	LastError string
}

// NewForwarder starts a forwarder with forwarding off; Close stops it.
func NewForwarder() *Forwarder {
	f := &Forwarder{q: make(chan Message, QueueLen), wake: make(chan struct{}, 1), quit: make(chan struct{})}
	go f.run()
	return f
}

// Configure sets where messages go ("" turns forwarding off), the host
// name they carry, and the secrets to cut out of every line before it
// leaves the box (PSKs, hashes: none is ever logged on purpose, this
// guards against a daemon that would). Lines already queued go to the
// new target.
func (f *Forwarder) Configure(target, hostname string, secrets []string) error {
	var s *Sender
	if strings.TrimSpace(target) != "" {
		t, err := ParseTarget(target)
		if err != nil {
			return err
		}
		s = NewSender(t, hostname)
	}
	var keep []string
	for _, x := range secrets {
		if len(x) >= 4 { // shorter ones would hide ordinary words
			keep = append(keep, x)
		}
	}
	f.mu.Lock()
	old := f.sender
	same := old != nil && s != nil && old.Target == s.Target && old.Hostname == s.Hostname
	if !same {
		f.sender = s
		f.lastErr = ""
	}
	f.secrets = keep
	f.mu.Unlock()
	if old != nil && !same {
		old.Close()
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return nil
}

// Enabled reports whether a target is set.
func (f *Forwarder) Enabled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sender != nil
}

// Send queues m without blocking.
func (f *Forwarder) Send(m Message) {
	if !f.Enabled() {
		return
	}
	select {
	case f.q <- m:
	default:
		f.dropped.Add(1)
	}
}

// Stats returns the counters.
func (f *Forwarder) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := Stats{Sent: f.sent.Load(), Dropped: f.dropped.Load(), LastError: f.lastErr}
	if f.sender != nil {
		st.Target = f.sender.Target.String()
	}
	return st
}

// Close stops the goroutine; queued messages are not sent.
func (f *Forwarder) Close() {
	f.once.Do(func() { close(f.quit) })
	f.mu.Lock()
	s := f.sender
	f.sender = nil
	f.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

func (f *Forwarder) run() {
	backoff := time.Duration(0)
	for {
		var m Message
		select {
		case m = <-f.q:
		case <-f.quit:
			return
		}
		f.mu.Lock()
		s, secrets := f.sender, f.secrets
		f.mu.Unlock()
		if s == nil {
			continue // turned off while it waited
		}
		m.Text = Redact(m.Text, secrets)
		if err := s.Send(m); err != nil {
			f.dropped.Add(1)
			f.mu.Lock()
			f.lastErr = err.Error()
			f.mu.Unlock()
			backoff = min(max(2*backoff, backoffMin), backoffMax)
			select {
			case <-time.After(backoff):
			case <-f.wake:
				backoff = 0
			case <-f.quit:
				return
			}
			continue
		}
		backoff = 0
		f.sent.Add(1)
	}
}

// Redact replaces every occurrence of each secret in s.
func Redact(s string, secrets []string) string {
	for _, x := range secrets {
		if x != "" && strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, hiddenText)
		}
	}
	return s
}
