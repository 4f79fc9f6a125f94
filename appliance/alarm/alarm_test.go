package alarm

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/failover"
)

var t0 = time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestFailoverEventsRaiseAndClear(t *testing.T) {
	m := New(0)
	for _, e := range []failover.Event{
		{Time: at(10), Site: "hq", Kind: failover.RemoteDown, Remote: 0, From: -1, Reason: "3 probes in a row failed"},
		{Time: at(10), Site: "hq", Kind: failover.Restarted, Remote: 0, From: -1},
		{Time: at(12), Site: "hq", Kind: failover.Failover, Remote: 1, From: 0, Reason: "remote 1 did not recover"},
		{Time: at(13), Site: "hq", Kind: failover.RemoteDown, Remote: 0, From: -1, Reason: "again"}, // already raised
	} {
		m.FailoverEvent(e)
	}
	act := m.Active()
	if len(act) != 1 || act[0].Key != "remote:hq-r1" || !act[0].Raised.Equal(at(10)) || act[0].Reason != "3 probes in a row failed" || act[0].Severity != Warning {
		t.Fatalf("active %+v", act)
	}
	m.FailoverEvent(failover.Event{Time: at(20), Site: "hq", Kind: failover.SiteDown, Remote: 1, From: -1})
	m.FailoverEvent(failover.Event{Time: at(40), Site: "hq", Kind: failover.RemoteUp, Remote: 0, From: -1, Reason: "tunnel established"})
	m.FailoverEvent(failover.Event{Time: at(40), Site: "hq", Kind: failover.SiteUp, Remote: 0, From: -1})
	if a := m.Active(); len(a) != 0 {
		t.Errorf("still active: %+v", a)
	}
	var got []string
	for _, c := range m.History() {
		got = append(got, fmt.Sprintf("%gs %s %s", c.Time.Sub(t0).Seconds(), c.Key, c.Kind))
	}
	want := []string{"10s remote:hq-r1 raised", "10s site:hq info", "12s site:hq info", "20s site:hq raised", "40s remote:hq-r1 cleared", "40s site:hq cleared"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if h := m.History(); !strings.Contains(h[4].Reason, "down 30s") {
		t.Errorf("clear reason %q should say how long it was down", h[4].Reason)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	m := New(3)
	for i := range 5 {
		m.Note(at(float64(i)), "site:hq", fmt.Sprint(i))
	}
	h := m.History()
	if len(h) != 3 || h[0].Reason != "2" || h[2].Reason != "4" {
		t.Errorf("history %+v", h)
	}
}

func TestSubscribers(t *testing.T) {
	m := New(0)
	ch, cancel := m.Subscribe(1)
	var buf bytes.Buffer
	done := make(chan struct{}, 2)
	ctx, stop := context.WithCancel(context.Background())
	m.Attach(ctx, func(c Change) {
		Console(&buf)(c)
		done <- struct{}{}
	})
	m.Raise(at(1), "site:hq", Error, "no remote")
	m.Raise(at(2), "site:b", Error, "no remote") // ch is full: dropped, not blocking
	if c := <-ch; c.Key != "site:hq" || c.Kind != Raised {
		t.Errorf("got %+v", c)
	}
	if m.Dropped() != 1 {
		t.Errorf("dropped %d", m.Dropped())
	}
	cancel()
	cancel()
	if _, open := <-ch; open {
		t.Error("channel open after cancel")
	}
	<-done
	<-done
	stop()
	if got := buf.String(); got != "2026-11-23 05:00:01.000 alarm site:hq raised (error): no remote\n2026-11-23 05:00:02.000 alarm site:b raised (error): no remote\n" {
		t.Errorf("console %q", got)
	}
}

func TestFormat(t *testing.T) {
	c := Change{Time: at(1.5), Kind: Raised, Key: `remote:hq-r1"]`, Severity: Warning, Reason: "3 probes in a row failed"}
	got := Format(c, "tunneler 1")
	want := `<28>1 2026-11-23T05:00:01.500000Z tunneler1 tunneler - RAISED [alarm@32473 key="remote:hq-r1\"\]" state="raised"] 3 probes in a row failed`
	if got != want {
		t.Errorf("Format\n got %s\nwant %s", got, want)
	}
}

func TestSyslogOverLoopback(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := NewSyslog(pc.LocalAddr().String(), "branch-7")
	defer s.Close()
	m := New(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Attach(ctx, func(c Change) {
		if err := s.Send(c); err != nil {
			t.Error(err)
		}
	})
	m.Raise(at(3), "site:hq", Error, "no remote of the site is healthy")
	m.Clear(at(5), "site:hq", "")
	for _, want := range []string{
		`<27>1 2026-11-23T05:00:03.000000Z branch-7 tunneler - RAISED [alarm@32473 key="site:hq" state="raised"] no remote of the site is healthy`,
		`<29>1 2026-11-23T05:00:05.000000Z branch-7 tunneler - CLEARED [alarm@32473 key="site:hq" state="cleared"] recovered (down 2s)`,
	} {
		pc.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 2048)
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != want {
			t.Errorf("datagram\n got %s\nwant %s", got, want)
		}
	}
	if s := NewSyslog("logs.example.com", "x"); s.addr != "logs.example.com:514" {
		t.Errorf("default port: %s", s.addr)
	}
	if s := NewSyslog("2001:db8::1", "x"); s.addr != "[2001:db8::1]:514" {
		t.Errorf("v6 default port: %s", s.addr)
	}
}
