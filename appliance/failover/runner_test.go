package failover

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/monitor"
)

type recorder struct {
	mu      sync.Mutex
	calls   chan string
	failAct int // fail this many activations
}

func (f *recorder) Activate(site string, remote int) error {
	f.mu.Lock()
	fail := f.failAct > 0
	if fail {
		f.failAct--
	}
	f.mu.Unlock()
	if fail {
		f.calls <- "activate-failed " + config.RemoteTunnelName(site, remote)
		return errors.New("netlink: no buffer space")
	}
	f.calls <- "activate " + config.RemoteTunnelName(site, remote)
	return nil
}

func (f *recorder) Restart(tunnel string) error {
	f.calls <- "restart " + tunnel
	return nil
}

func (f *recorder) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-f.calls:
		if got != want {
			t.Fatalf("call %q, want %q", got, want)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("no call, want %q", want)
	}
}

func testSite() config.Site {
	c := config.Config{Version: config.CurrentVersion, Sites: []config.Site{{
		Name: "hq", RemoteNetworks: []config.Prefix{config.MustPrefix("10.50.0.0/16")},
		Remotes: []config.Remote{{PeerAddress: "192.0.2.1"}, {PeerAddress: "192.0.2.2"}},
		Monitor: config.Monitor{Target: "10.50.0.1"},
	}}}.WithDefaults()
	s := c.Sites[0]
	s.RestartGrace = config.Dur(20 * time.Millisecond)
	s.HoldDown = config.Dur(100 * time.Millisecond)
	return s
}

func green(name string, est time.Time) ipsec.TunnelStatus {
	return ipsec.TunnelStatus{Name: name, Colour: ipsec.Green, Established: est}
}

func TestRunnerFailoverAndFailback(t *testing.T) {
	rec := &recorder{calls: make(chan string, 10), failAct: 1}
	old := retryActivate
	retryActivate = 10 * time.Millisecond
	defer func() { retryActivate = old }()
	var evMu sync.Mutex
	var events []Event
	r := NewRunner(testSite(), Options{Activator: rec, Restarter: rec, OnEvent: func(e Event) {
		evMu.Lock()
		events = append(events, e)
		evMu.Unlock()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	changed := r.Changed()

	boot := time.Now()
	r.ObserveTunnels([]ipsec.TunnelStatus{green("hq-r1", boot), green("hq-r2", boot), green("other", boot)})
	r.ObserveTunnels([]ipsec.TunnelStatus{green("hq-r1", boot)}) // no change: no input
	r.ObserveMonitor(monitor.Event{Name: "hq-r1", Up: true})
	r.ObserveMonitor(monitor.Event{Name: "hq-r1", Up: false, Reason: "3 probes in a row failed"})
	rec.expect(t, "restart hq-r1")
	// The first activation fails (netlink busy) and is retried.
	rec.expect(t, "activate-failed hq-r2")
	rec.expect(t, "activate hq-r2")
	select {
	case <-changed:
	case <-time.After(time.Second):
		t.Fatal("Changed not closed on failover")
	}
	if r.Active() != 1 || r.ActiveTunnel() != "hq-r2" {
		t.Fatalf("active %d", r.Active())
	}
	// The restarted remote comes back with a new IKE SA; after the
	// hold-down the site returns to it.
	r.ObserveTunnels([]ipsec.TunnelStatus{{Name: "hq-r1", Colour: ipsec.Orange, Reason: "peer not answering"}})
	back := time.Now()
	r.ObserveTunnels([]ipsec.TunnelStatus{green("hq-r1", back)})
	rec.expect(t, "activate hq-r1")
	if d := time.Since(back); d < 90*time.Millisecond {
		t.Errorf("failback after %s, before the 100ms hold-down", d)
	}
	// The Activated event follows the Activator's return; wait for it so
	// the manual restart's event comes after.
	for i := 0; ; i++ {
		evMu.Lock()
		n := len(events)
		evMu.Unlock()
		if n >= 8 || i > 300 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.RestartRemote(1); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "restart hq-r2")
	if err := r.RestartRemote(4); err == nil {
		t.Error("restart of remote 5 accepted")
	}

	evMu.Lock()
	defer evMu.Unlock()
	var kinds []EventKind
	for _, e := range events {
		if e.Time.IsZero() || e.Site != "hq" {
			t.Errorf("event %+v", e)
		}
		kinds = append(kinds, e.Kind)
	}
	want := []EventKind{RemoteDown, Restarted, Failover, "activate-failed", Activated, RemoteUp, Failback, Activated, Restarted}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v, want %v", kinds, want)
		}
	}
	st := r.Status()
	if st.Active != 0 || st.Down || len(st.Remotes) != 2 {
		t.Errorf("status %+v", st)
	}
}

type fakeIKE struct{ log []string }

func (f *fakeIKE) Terminate(n string) error {
	f.log = append(f.log, "terminate "+n)
	if n == "gone" {
		return errors.New("no matching SA")
	}
	return nil
}
func (f *fakeIKE) Initiate(n string) error {
	f.log = append(f.log, "initiate "+n)
	if n == "broken" {
		return errors.New("charon: no config")
	}
	return nil
}

func TestIKERestarter(t *testing.T) {
	f := &fakeIKE{}
	var slept time.Duration
	r := IKERestarter{IKE: f, Sleep: func(d time.Duration) { slept += d; f.log = append(f.log, "sleep") }}
	if err := r.Restart("hq-r1"); err != nil {
		t.Fatal(err)
	}
	// Terminating a tunnel with no SA still initiates it.
	if err := r.Restart("gone"); err != nil {
		t.Fatal(err)
	}
	if err := r.Restart("broken"); err == nil {
		t.Error("initiate error lost")
	}
	want := []string{"terminate hq-r1", "sleep", "initiate hq-r1", "terminate gone", "sleep", "initiate gone", "terminate broken", "sleep", "initiate broken"}
	if len(f.log) != len(want) {
		t.Fatalf("log %v", f.log)
	}
	for i := range want {
		if f.log[i] != want[i] {
			t.Fatalf("log %v, want %v", f.log, want)
		}
	}
	if slept != 600*time.Millisecond {
		t.Errorf("slept %s", slept)
	}
}

// *ipsec.Client is what the lead passes as IKE.
var _ IKE = (*ipsec.Client)(nil)

// charon's first negotiation of a remote is no news (restarting it would
// abort it); once the remote was up, CONNECTING again is a tunnel down.
func TestRunnerFirstNegotiationIsNoNews(t *testing.T) {
	r := NewRunner(testSite(), Options{})
	connecting := ipsec.TunnelStatus{Name: "hq-r1", Colour: ipsec.Gray, IKEState: "CONNECTING", Reason: "connecting to the remote device"}
	steps := []struct {
		st   ipsec.TunnelStatus
		want []InputKind
	}{
		{ipsec.TunnelStatus{Name: "hq-r1", Colour: ipsec.Gray}, nil},
		{connecting, nil},
		{ipsec.TunnelStatus{Name: "hq-r1", Colour: ipsec.Gray, IKEState: "ESTABLISHED", Reason: "IKE is up but no CHILD_SA (traffic SA) is installed"}, nil},
		{green("hq-r1", time.Unix(100, 0)), []InputKind{TunnelUp}},
		{connecting, []InputKind{TunnelDown}},
	}
	for i, s := range steps {
		r.ObserveTunnels([]ipsec.TunnelStatus{s.st})
		var got []InputKind
		for len(r.in) > 0 {
			got = append(got, (<-r.in).Kind)
		}
		if len(got) != len(s.want) || len(got) > 0 && got[0] != s.want[0] {
			t.Errorf("step %d (%s %s): inputs %v, want %v", i, s.st.Colour, s.st.IKEState, got, s.want)
		}
	}
	if !r.EverUp(0) || r.EverUp(1) {
		t.Errorf("EverUp = %v %v, want true false", r.EverUp(0), r.EverUp(1))
	}
}
