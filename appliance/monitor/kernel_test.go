package monitor

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// Two namespaces joined by a veth; the prober sits in a, binds a source
// address on a's lo (as the box binds the inside address), and probes b.
func kernelPair(t *testing.T) (a, b *testenv.Netns) {
	testenv.RequireRoot(t)
	a = testenv.NewNetns(t, "mona")
	b = testenv.NewNetns(t, "monb")
	testenv.Veth(t, a, "mon0", b, "mon1")
	a.Run(t, "ip", "addr", "add", "10.99.0.1/24", "dev", "mon0")
	a.Run(t, "ip", "addr", "add", "100.64.0.1/32", "dev", "lo")
	b.Run(t, "ip", "addr", "add", "10.99.0.2/24", "dev", "mon1")
	b.Run(t, "ip", "route", "add", "100.64.0.1/32", "via", "10.99.0.1")
	return a, b
}

func TestKernelICMP(t *testing.T) {
	a, b := kernelPair(t)
	src := netip.MustParseAddr("100.64.0.1")
	dst := netip.MustParseAddr("10.99.0.2")
	for _, tc := range []struct {
		name  string
		setup func()
		p     *ICMP
	}{
		// A fresh namespace allows no unprivileged ICMP: falls back to raw.
		{"fallback to raw", func() {}, &ICMP{Target: dst, Source: src}},
		{"raw", func() {}, &ICMP{Target: dst, Source: src, Raw: true}},
		{"unprivileged", func() { a.Run(t, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647") }, &ICMP{Target: dst, Source: src}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			err := a.Do(func() error {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				return tc.p.Probe(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}

	// Monitor: up, then b goes away (link down: no ARP, no answer), down
	// after three probes; the event says when.
	evs := make(chan Event, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Do(func() error {
			Run(ctx, Spec{Name: "hq-r1", Prober: &ICMP{Target: dst, Source: src}, Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond, Retries: 3}, nil, func(e Event) { evs <- e })
			return nil
		})
	}()
	wait := func(up bool) Event {
		t.Helper()
		select {
		case e := <-evs:
			if e.Up != up {
				t.Fatalf("event %v, want up=%v", e, up)
			}
			return e
		case <-time.After(3 * time.Second):
			t.Fatalf("no event (want up=%v)", up)
		}
		return Event{}
	}
	wait(true)
	cut := time.Now()
	b.Run(t, "ip", "link", "set", "mon1", "down")
	e := wait(false)
	if gap := e.Time.Sub(cut); gap < 200*time.Millisecond || gap > 600*time.Millisecond {
		t.Errorf("down after %s; want about 3 probes at 100ms", gap)
	}
	t.Logf("down: %v", e)
	b.Run(t, "ip", "link", "set", "mon1", "up")
	// Downing the link took b's route back to the source with it.
	b.Run(t, "ip", "route", "replace", "100.64.0.1/32", "via", "10.99.0.1")
	wait(true)
	cancel()
	<-done
}

func TestKernelTCP(t *testing.T) {
	a, b := kernelPair(t)
	_ = b
	src := netip.MustParseAddr("100.64.0.1")
	var ln net.Listener
	if err := b.Do(func() (err error) { ln, err = net.Listen("tcp", "10.99.0.2:7777"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	probe := func(target string) error {
		return a.Do(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			return TCP{Target: netip.MustParseAddrPort(target), Source: src}.Probe(ctx)
		})
	}
	if err := probe("10.99.0.2:7777"); err != nil {
		t.Errorf("listening port: %v", err)
	}
	if err := probe("10.99.0.2:7778"); err != nil {
		t.Errorf("refused port should count as an answer: %v", err)
	}
	b.Run(t, "ip", "link", "set", "mon1", "down")
	if err := probe("10.99.0.2:7777"); err == nil {
		t.Error("probe succeeded with the peer gone")
	}
}
