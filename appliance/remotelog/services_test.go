package remotelog

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/supervise"
)

// fakeSink records what a ServiceForwarder sends.
type fakeSink struct {
	target  string
	secrets []string
	sent    []Message
	dropped uint64
	err     error // Configure's answer
}

func (f *fakeSink) Configure(target, hostname string, secrets []string) error {
	if f.err != nil {
		f.target = ""
		return f.err
	}
	f.target, f.secrets = target, secrets
	return nil
}
func (f *fakeSink) Enabled() bool  { return f.target != "" }
func (f *fakeSink) Send(m Message) { f.sent = append(f.sent, m) }
func (f *fakeSink) Stats() Stats   { return Stats{Target: f.target, Dropped: f.dropped} }

// fakeUnit is a service's ring: Lines returns those after since.
type fakeUnit struct {
	name  string
	lines []supervise.LogLine
}

func (u *fakeUnit) Name() string { return u.name }
func (u *fakeUnit) Lines(since time.Time) []supervise.LogLine {
	var out []supervise.LogLine
	for _, l := range u.lines {
		if l.Time.After(since) {
			out = append(out, l)
		}
	}
	return out
}

func line(sec int, stream, text string) supervise.LogLine {
	return supervise.LogLine{Time: time.Unix(int64(1000+sec), 0), Stream: stream, Text: text}
}

func TestServiceForwarderPoll(t *testing.T) {
	sink := &fakeSink{}
	charon := &fakeUnit{name: "charon", lines: []supervise.LogLine{line(1, "stdout", "old line")}}
	router := &fakeUnit{name: "ziti-router"}
	s := &ServiceForwarder{Sink: sink, Units: func() []ServiceLog { return []ServiceLog{charon, router} }}

	// Off: lines so far are passed over, not sent later.
	s.Poll()
	if len(sink.sent) != 0 {
		t.Fatalf("sent %d lines while forwarding is off", len(sink.sent))
	}
	sink.target = "udp://192.0.2.1:514"
	charon.lines = append(charon.lines, line(2, "stdout", "09[IKE] established"))
	router.lines = append(router.lines, line(3, "supervise", "started (pid 42)"))
	s.Poll()
	s.Poll() // nothing new: nothing repeated
	want := []Message{
		{Time: time.Unix(1002, 0), Severity: Info, App: "charon", Text: "09[IKE] established"},
		{Time: time.Unix(1003, 0), Severity: Notice, App: "ziti-router", Text: "started (pid 42)"},
	}
	if diff := cmp.Diff(want, sink.sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

func TestServiceForwarderNoUnits(t *testing.T) {
	sink := &fakeSink{target: "udp://192.0.2.1:514"}
	s := &ServiceForwarder{Sink: sink} // no supervisor yet
	s.Poll()
	if len(sink.sent) != 0 {
		t.Errorf("sent %v with no units", sink.sent)
	}
}

func TestServiceForwarderReportsDrops(t *testing.T) {
	var logged bytes.Buffer
	now := time.Unix(5000, 0)
	sink := &fakeSink{target: "udp://192.0.2.1:514"}
	s := &ServiceForwarder{Sink: sink, Log: slog.New(slog.NewTextHandler(&logged, nil)), Now: func() time.Time { return now }}
	sink.dropped = 3
	s.Poll()
	sink.dropped = 5
	now = now.Add(10 * time.Second) // within DropReportEvery: quiet
	s.Poll()
	now = now.Add(DropReportEvery)
	s.Poll()
	got := strings.Count(logged.String(), "lines dropped")
	if got != 2 || !strings.Contains(logged.String(), "dropped=3") || !strings.Contains(logged.String(), "dropped=2") {
		t.Errorf("drop reports = %d, log:\n%s\nwant two: dropped=3 then dropped=2", got, logged.String())
	}
}

func TestServiceForwarderConfigure(t *testing.T) {
	var logged bytes.Buffer
	sink := &fakeSink{}
	r := &Redactor{}
	s := &ServiceForwarder{Sink: sink, Redactor: r, Log: slog.New(slog.NewTextHandler(&logged, nil))}

	if err := s.Configure("udp://192.0.2.1:514", "box", []string{"sekrit-psk"}); err != nil {
		t.Fatal(err)
	}
	if got := r.Redact("psk is sekrit-psk"); got != "psk is (hidden)" {
		t.Errorf("Redact after Configure = %q", got)
	}
	if diff := cmp.Diff([]string{"sekrit-psk"}, sink.secrets); diff != "" {
		t.Errorf("sink secrets (-want +got):\n%s", diff)
	}
	s.Configure("udp://192.0.2.1:514", "box", nil) // same target: says nothing
	s.Configure("", "box", nil)
	sink.err = errors.New(`remote syslog "bogus://x": scheme "bogus" is not udp:// or tcp://`)
	if err := s.Configure("bogus://x", "box", nil); err == nil {
		t.Error("Configure with a refused target: no error")
	}
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		_, m, _ := strings.Cut(l, "msg=")
		msgs = append(msgs, m)
	}
	want := []string{
		`"remote syslog: forwarding init's, charon's and the router's logs" to=udp://192.0.2.1:514`,
		`"remote syslog: forwarding off"`,
		`"log forwarding off" err="remote syslog \"bogus://x\": scheme \"bogus\" is not udp:// or tcp://"`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func TestRedactorConcurrent(t *testing.T) {
	var r Redactor
	if got := r.Redact("nothing set"); got != "nothing set" {
		t.Errorf("zero Redactor changed the line: %q", got)
	}
	in := []string{"first-secret"}
	r.Set(in)
	in[0] = "changed" // Set keeps its own copy
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				r.Set([]string{"first-secret", "second-secret"})
				return
			}
			if got := r.Redact("x first-secret y"); got != "x (hidden) y" {
				t.Errorf("Redact = %q", got)
			}
		}()
	}
	wg.Wait()
}

func TestLogWriter(t *testing.T) {
	f := NewForwarder()
	defer f.Close()
	w := LogWriter{F: f}
	// Off: accepted and discarded, never an error.
	if n, err := w.Write([]byte("time=10:00:00 level=INFO msg=hello\n")); n != 35 || err != nil {
		t.Errorf("Write while off = %d, %v", n, err)
	}
	if st := f.Stats(); st.Sent != 0 || st.Dropped != 0 {
		t.Errorf("stats while off = %+v", st)
	}
	if n, err := (LogWriter{}).Write([]byte("x\n")); n != 2 || err != nil {
		t.Errorf("Write without a forwarder = %d, %v", n, err)
	}
}

// Turned on, each non-blank line of a slog record is one message.
func TestLogWriterForwards(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	f := NewForwarder()
	defer f.Close()
	if err := f.Configure(pc.LocalAddr().String(), "box", nil); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 4, 5, 6, 0, time.UTC)
	w := LogWriter{F: f, Now: func() time.Time { return at }}
	w.Write([]byte("time=04:05:06 level=WARN msg=\"router: restarting\"\n\n"))
	got := recv(t, pc, "router")
	if want := `<28>1 2026-11-23T04:05:06.000000Z box tunneler - - - level=WARN msg="router: restarting"`; got != want {
		t.Errorf("datagram\n got %q\nwant %q", got, want)
	}
}
