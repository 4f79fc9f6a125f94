package sites

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/xfrm"
)

// trail records what the fakes were asked to do, in order.
type trail struct {
	mu    sync.Mutex
	steps []string
	added chan string // every step, for waiting on one
}

func newTrail() *trail { return &trail{added: make(chan string, 1000)} }

func (t *trail) add(step string) {
	t.mu.Lock()
	t.steps = append(t.steps, step)
	t.mu.Unlock()
	t.added <- step
}

func (t *trail) all() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.steps)
}

// waitFor waits for a step with the prefix and returns it.
func (t *trail) waitFor(tb testing.TB, prefix string) string {
	tb.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s := <-t.added:
			if strings.HasPrefix(s, prefix) {
				return s
			}
		case <-deadline:
			tb.Fatalf("no step %q; steps: %q", prefix, t.all())
			return ""
		}
	}
}

// fakePolicies is the kernel's XFRM policies: it records each Apply as
// "policies NAME=PEER,...".
type fakePolicies struct {
	t   *trail
	mu  sync.Mutex
	cur xfrm.Desired
	err error // returned by Apply when set
}

func (p *fakePolicies) Apply(d xfrm.Desired) (xfrm.Result, error) {
	var names []string
	for _, t := range d.Tunnels {
		names = append(names, t.Name+"="+t.Peer.String())
	}
	p.t.add("policies " + strings.Join(names, ","))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return xfrm.Result{}, p.err
	}
	p.cur = d
	return xfrm.Result{}, nil
}

func (p *fakePolicies) Owned() ([]xfrm.Policy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return xfrm.Policies(p.cur.Tunnels)
}

// fakeCharon is charon under the supervisor with a fake client.
type fakeCharon struct {
	t        *trail
	c        *fakeClient
	startErr error
}

func (f *fakeCharon) Client() Client { return f.c }
func (f *fakeCharon) Start() error {
	f.t.add("charon start")
	return f.startErr
}

// fakeClient is charon's VICI client: tests set the tunnels' status with
// set, which signals Changed as charon's events do.
type fakeClient struct {
	t       *trail
	mu      sync.Mutex
	status  []ipsec.TunnelStatus
	changed chan struct{}
}

func (c *fakeClient) Apply(ts []config.Tunnel) error {
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	c.t.add("charon load " + strings.Join(names, ","))
	return nil
}

func (c *fakeClient) Status() []ipsec.TunnelStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.status)
}

func (c *fakeClient) Changed() <-chan struct{} { return c.changed }

func (c *fakeClient) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (c *fakeClient) Initiate(name string) error  { c.t.add("initiate " + name); return nil }
func (c *fakeClient) Terminate(name string) error { c.t.add("terminate " + name); return nil }
func (c *fakeClient) Reconnect(name string) error { c.t.add("reconnect " + name); return nil }

func (c *fakeClient) set(sts ...ipsec.TunnelStatus) {
	c.mu.Lock()
	c.status = sts
	c.mu.Unlock()
	c.changed <- struct{}{} // unbuffered: returns once reportTunnels took it
}

// box is a Manager on fakes, with what it did.
type box struct {
	m        *Manager
	t        *trail
	pol      *fakePolicies
	client   *fakeClient
	logMu    sync.Mutex
	log      *bytes.Buffer
	problems []string
	pmu      sync.Mutex
}

type boxOpts struct {
	noCharon    bool  // no supervisor
	policiesErr error // opening the policies fails
	startErr    error // charon does not start
	startWait   time.Duration
}

func newBox(o boxOpts) *box {
	t := newTrail()
	b := &box{t: t, pol: &fakePolicies{t: t}, log: &bytes.Buffer{}}
	b.client = &fakeClient{t: t, changed: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(lockedWriter{&b.logMu, b.log}, nil))
	opts := Options{
		NewPolicies: func() (Policies, error) {
			if o.policiesErr != nil {
				return nil, o.policiesErr
			}
			return b.pol, nil
		},
		InsideAddress: func(a netip.Addr) error { t.add("inside " + a.String()); return nil },
		Resolve:       func(host string) (netip.Addr, error) { return netip.Addr{}, errors.New("no DNS in tests") },
		Log:           log,
		Problem: func(msg string) {
			b.pmu.Lock()
			b.problems = append(b.problems, msg)
			b.pmu.Unlock()
		},
		StartWait: o.startWait,
	}
	if !o.noCharon {
		opts.NewCharon = func() (Charon, error) {
			t.add("charon add")
			return &fakeCharon{t: t, c: b.client, startErr: o.startErr}, nil
		}
	}
	b.m = New(opts)
	return b
}

func (b *box) problemLines() []string {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	return slices.Clone(b.problems)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Configs of the tests: a plain tunnel, and a site hq with two remotes
// that fails over fast.
func plain() config.Tunnel {
	return config.Tunnel{Name: "pol", PeerAddress: "198.51.100.9", RemoteNetworks: []config.Prefix{config.MustPrefix("10.1.0.0/16")}}
}

func site(name, net string, peers ...string) config.Site {
	s := config.Site{Name: name, RemoteNetworks: []config.Prefix{config.MustPrefix(net)},
		RestartGrace: config.Dur(20 * time.Millisecond), HoldDown: config.Dur(time.Hour)}
	for _, p := range peers {
		s.Remotes = append(s.Remotes, config.Remote{PeerAddress: p, Profile: "p"})
	}
	return s
}

func configWith(tunnels []config.Tunnel, sites ...config.Site) config.Config {
	return config.Config{Version: config.CurrentVersion, Tunnels: tunnels, Sites: sites,
		Profiles: []config.Profile{{Name: "p"}}}
}

func hq() config.Site { return site("hq", "10.9.0.0/24", "192.0.2.1", "192.0.2.2") }

func green(name string) ipsec.TunnelStatus {
	return ipsec.TunnelStatus{Name: name, Colour: ipsec.Green, IKEState: "ESTABLISHED", Established: time.Unix(1000, 0)}
}

func down(name string) ipsec.TunnelStatus {
	return ipsec.TunnelStatus{Name: name, Colour: ipsec.Orange, Reason: "peer not answering"}
}
