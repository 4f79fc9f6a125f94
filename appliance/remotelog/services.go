package remotelog

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tunneler/tunneler/appliance/supervise"
)

// Defaults of a ServiceForwarder.
const (
	// PollEvery is how often the services' new lines are collected: their
	// rings stamp every line with a distinct, growing time, so polling
	// with the last time seen neither misses nor repeats one.
	PollEvery = time.Second
	// DropReportEvery bounds how often dropped lines are reported (the
	// report itself is a line that may be dropped).
	DropReportEvery = time.Minute
)

// Redactor holds the config's current secrets and cuts them out of lines
// a service prints, before the Logs page, /perm/log or the forwarder see
// them. The zero value cuts nothing; it is safe for concurrent use (the
// supervisor redacts from every service's goroutine while a save sets new
// secrets).
type Redactor struct {
	secrets atomic.Pointer[[]string]
}

// Set replaces the secrets to cut out.
func (r *Redactor) Set(secrets []string) {
	s := append([]string(nil), secrets...)
	r.secrets.Store(&s)
}

// Redact replaces every current secret in line with "(hidden)".
func (r *Redactor) Redact(line string) string {
	if p := r.secrets.Load(); p != nil {
		return Redact(line, *p)
	}
	return line
}

// LogWriter feeds init's log (slog text, one record a Write) to a
// forwarder. It never fails and never blocks.
type LogWriter struct {
	F *Forwarder
	// Now stamps the lines (time.Now when nil).
	Now func() time.Time
}

func (w LogWriter) Write(p []byte) (int, error) {
	if w.F == nil || !w.F.Enabled() {
		return len(p), nil
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	t := now()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			w.F.Send(FromSlogText(l, t))
		}
	}
	return len(p), nil
}

// Sink is where a ServiceForwarder sends lines: a *Forwarder on the box.
type Sink interface {
	Configure(target, hostname string, secrets []string) error
	Enabled() bool
	Send(Message)
	Stats() Stats
}

var _ Sink = (*Forwarder)(nil)

// ServiceLog is one supervised service's output: *supervise.Unit.
type ServiceLog interface {
	Name() string
	// Lines are the lines kept since t (exclusive), oldest first.
	Lines(since time.Time) []supervise.LogLine
}

// ServiceForwarder sends the supervised services' lines to the remote
// server (charon's as "charon", the router's as "ziti-router") and keeps
// the secrets of the config in force cut out of everything.
type ServiceForwarder struct {
	Sink Sink
	// Units lists the services to forward; nil or empty while there is
	// no supervisor.
	Units func() []ServiceLog
	// Redactor, if set, gets the secrets Configure is given.
	Redactor *Redactor
	// Log says what forwarding does: on, off, lines dropped.
	Log *slog.Logger
	// Now is the clock for the drop reports (time.Now when nil).
	Now func() time.Time

	last       map[string]time.Time
	reported   uint64
	reportedAt time.Time
}

// Configure points forwarding at target ("" turns it off) for host name
// hostname, with secrets to cut out of every line, and says on the log
// when the target changes. A target Validate would refuse (a document
// from an older firmware might hold one) leaves forwarding off.
func (s *ServiceForwarder) Configure(target, hostname string, secrets []string) error {
	if s.Redactor != nil {
		s.Redactor.Set(secrets)
	}
	before := s.Sink.Stats().Target
	if err := s.Sink.Configure(target, hostname, secrets); err != nil {
		// err names the remote syslog target itself: no prefix here, or
		// the line would say "remote syslog" twice.
		s.log().Warn("log forwarding off", "err", err)
		return err
	}
	switch after := s.Sink.Stats().Target; {
	case after == before:
	case after == "":
		s.log().Info("remote syslog: forwarding off")
	default:
		s.log().Info("remote syslog: forwarding init's, charon's and the router's logs", "to", after)
	}
	return nil
}

// Run polls every PollEvery until ctx ends.
func (s *ServiceForwarder) Run(ctx context.Context) {
	t := time.NewTicker(PollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Poll()
		}
	}
}

// Poll sends every service's lines since the last poll, and reports
// lines dropped since the last report (at most every DropReportEvery).
// While forwarding is off it only keeps up, so turning it on sends what
// comes next, not the whole ring. Not safe for concurrent use: one
// goroutine polls.
func (s *ServiceForwarder) Poll() {
	if s.last == nil {
		s.last = map[string]time.Time{}
	}
	on := s.Sink.Enabled()
	var units []ServiceLog
	if s.Units != nil {
		units = s.Units()
	}
	for _, u := range units {
		lines := u.Lines(s.last[u.Name()])
		if len(lines) == 0 {
			continue
		}
		s.last[u.Name()] = lines[len(lines)-1].Time
		if !on {
			continue
		}
		for _, l := range lines {
			s.Sink.Send(ServiceMessage(u.Name(), l))
		}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	st := s.Sink.Stats()
	if st.Dropped > s.reported && now().Sub(s.reportedAt) >= DropReportEvery {
		s.log().Warn("remote syslog: lines dropped (server slow or unreachable)", "dropped", st.Dropped-s.reported, "to", st.Target, "err", st.LastError)
		s.reported, s.reportedAt = st.Dropped, now()
	}
}

func (s *ServiceForwarder) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// ServiceMessage is one supervised service's line; what the supervisor
// itself said of the service (a start, an exit) is a notice.
func ServiceMessage(unit string, l supervise.LogLine) Message {
	sev := Info
	if l.Stream == "supervise" {
		sev = Notice
	}
	return Message{Time: l.Time, Severity: sev, App: unit, Text: l.Text}
}
