package monitor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/config"
)

func TestTracker(t *testing.T) {
	errT := errors.New("timeout")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		retries int
		results []error
		want    []string // "up@i" / "down@i"
	}{
		{"up at first answer", 3, []error{nil, nil, nil}, []string{"up@0"}},
		{"down after retries from start", 3, []error{errT, errT, errT, errT}, []string{"down@2"}},
		{"one loss is not down", 3, []error{nil, errT, nil, errT, errT, nil}, []string{"up@0"}},
		{"down then up", 2, []error{nil, errT, errT, errT, nil}, []string{"up@0", "down@2", "up@4"}},
		{"retries 0 means 1", 0, []error{nil, errT}, []string{"up@0", "down@1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := Tracker{Name: "hq-r1", Retries: tc.retries}
			var got []string
			for i, err := range tc.results {
				now := t0.Add(time.Duration(i) * time.Second)
				if ev, ok := tr.Observe(err, time.Millisecond, now); ok {
					if !ev.Time.Equal(now) || ev.Name != "hq-r1" || ev.Reason == "" {
						t.Errorf("event %+v", ev)
					}
					s := "down"
					if ev.Up {
						s = "up"
					}
					got = append(got, s+"@"+string(rune('0'+i)))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

type fakeProber struct {
	mu   sync.Mutex
	fail bool
	n    int
}

func (f *fakeProber) Probe(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.fail {
		return errors.New("timeout")
	}
	return nil
}
func (f *fakeProber) String() string { return "fake" }
func (f *fakeProber) set(fail bool)  { f.mu.Lock(); f.fail = fail; f.mu.Unlock() }

func TestRun(t *testing.T) {
	p := &fakeProber{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs := make(chan Event, 10)
	go Run(ctx, Spec{Name: "r", Prober: p, Interval: 5 * time.Millisecond, Timeout: time.Millisecond, Retries: 3}, nil, func(e Event) { evs <- e })
	if e := <-evs; !e.Up {
		t.Fatalf("first event %v", e)
	}
	p.set(true)
	if e := <-evs; e.Up {
		t.Fatalf("second event %v", e)
	}
	p.set(false)
	if e := <-evs; !e.Up {
		t.Fatalf("third event %v", e)
	}
}

func TestFromSite(t *testing.T) {
	c := config.Config{Version: config.CurrentVersion, Sites: []config.Site{{
		Name: "hq", RemoteNetworks: []config.Prefix{config.MustPrefix("10.50.0.0/16")},
		Remotes: []config.Remote{{PeerAddress: "192.0.2.1"}, {PeerAddress: "192.0.2.2", MonitorTarget: "10.50.0.9:443"}},
		Monitor: config.Monitor{Type: config.MonitorTCP, Target: "10.50.0.1:22"},
	}}}.WithDefaults()
	s0, ok, err := FromSite(c.Sites[0], 0)
	if err != nil || !ok || s0.Name != "hq-r1" || s0.Prober.String() != "tcp 10.50.0.1:22" || s0.Retries != config.DefaultMonitorRetries || s0.Interval != config.DefaultMonitorInterval {
		t.Errorf("remote 0: %+v %v %v", s0, ok, err)
	}
	if src := s0.Prober.(TCP).Source.String(); src != "100.64.0.1" {
		t.Errorf("source %s, want the inside address", src)
	}
	s1, _, _ := FromSite(c.Sites[0], 1)
	if s1.Prober.String() != "tcp 10.50.0.9:443" {
		t.Errorf("remote 1 target %s", s1.Prober)
	}
	c.Sites[0].Monitor.Target, c.Sites[0].Remotes[1].MonitorTarget = "", ""
	if _, ok, _ := FromSite(c.Sites[0], 1); ok {
		t.Error("no target should mean no monitor")
	}
}
