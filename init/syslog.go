package main

import (
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/remotelog"
	"github.com/tunneler/tunneler/appliance/supervise"
)

// Remote syslog (config.System.RemoteSyslog): init's own log, charon's
// and the router's lines go to a remote server as well as the console and
// the web UI. Logging never waits for it: the forwarder queues a bounded
// number of lines and drops (and counts) the rest.

const (
	// syslogPollEvery is how often the services' new lines are collected:
	// their rings stamp every line with a distinct, growing time, so
	// polling with the last time seen neither misses nor repeats one.
	syslogPollEvery = time.Second
	// syslogDropReportEvery bounds how often dropped lines are reported
	// on the console (the report itself is a line that may be dropped).
	syslogDropReportEvery = time.Minute
)

// syslogWriter feeds init's log (slog text, one record a Write) to the
// forwarder. It never fails and never blocks.
type syslogWriter struct{ f *remotelog.Forwarder }

func (w syslogWriter) Write(p []byte) (int, error) {
	if w.f == nil || !w.f.Enabled() {
		return len(p), nil
	}
	now := time.Now()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			w.f.Send(remotelog.FromSlogText(l, now))
		}
	}
	return len(p), nil
}

// configureSyslog points the forwarder at c's target (or turns it off),
// with c's secrets to cut out of every line. Boot calls it with the loaded
// config, applyChange with each saved one.
func (b *box) configureSyslog(c config.Config) {
	secrets := secretsOf(c.WithDefaults())
	b.secrets.Store(&secrets)
	if b.syslog == nil {
		return
	}
	before := b.syslog.Stats().Target
	c = c.WithDefaults()
	if err := b.syslog.Configure(c.System.RemoteSyslog, c.System.Hostname, secretsOf(c)); err != nil {
		// Validate refuses such a target; a document from an older
		// firmware might still hold one.
		b.log.Warn("remote syslog: not forwarding", "err", err)
		return
	}
	switch after := b.syslog.Stats().Target; {
	case after == before:
	case after == "":
		b.log.Info("remote syslog: forwarding off")
	default:
		b.log.Info("remote syslog: forwarding init's, charon's and the router's logs", "to", after)
	}
}

// secretsOf lists the values no forwarded line may carry.
func secretsOf(c config.Config) []string {
	var out []string
	add := func(s config.Secret) {
		if !s.IsZero() && !s.IsHidden() {
			out = append(out, s.Reveal())
		}
	}
	add(c.Admin.PasswordHash)
	for _, t := range c.Tunnels {
		add(t.PSK)
	}
	for _, p := range c.Profiles {
		add(p.PSK)
	}
	return out
}

// forwardServiceLogs sends the supervised services' new lines to the
// forwarder for ever: charon's as "charon", the router's as "ziti-router".
// While forwarding is off it only keeps up, so turning it on sends what
// comes next, not the whole ring.
func (b *box) forwardServiceLogs() {
	last := map[string]time.Time{}
	var reported uint64
	var reportedAt time.Time
	for {
		time.Sleep(syslogPollEvery)
		if b.sup == nil {
			continue
		}
		on := b.syslog.Enabled()
		for _, u := range b.sup.Units() {
			lines := u.Lines(last[u.Name()])
			if len(lines) == 0 {
				continue
			}
			last[u.Name()] = lines[len(lines)-1].Time
			if !on {
				continue
			}
			for _, l := range lines {
				b.syslog.Send(serviceMessage(u.Name(), l))
			}
		}
		if st := b.syslog.Stats(); st.Dropped > reported && time.Since(reportedAt) >= syslogDropReportEvery {
			b.log.Warn("remote syslog: lines dropped (server slow or unreachable)", "dropped", st.Dropped-reported, "to", st.Target, "err", st.LastError)
			reported, reportedAt = st.Dropped, time.Now()
		}
	}
}

// serviceMessage is one supervised service's line; what the supervisor
// itself said of the service (a start, an exit) is a notice.
func serviceMessage(unit string, l supervise.LogLine) remotelog.Message {
	sev := remotelog.Info
	if l.Stream == "supervise" {
		sev = remotelog.Notice
	}
	return remotelog.Message{Time: l.Time, Severity: sev, App: unit, Text: l.Text}
}

// redact cuts the config's secrets out of a line a service printed, before
// the Logs page, /perm/log or the forwarder see it.
func (b *box) redact(line string) string {
	if p := b.secrets.Load(); p != nil {
		return remotelog.Redact(line, *p)
	}
	return line
}
