package ipsec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/ipsec/explain"
)

// Events the client follows.
var events = []string{"ike-updown", "child-updown", "ike-rekey", "child-rekey", "log"}

// Options configure a Client.
type Options struct {
	// Socket is charon's VICI socket; "" means SocketPath.
	Socket string
	// CommandTimeout bounds every VICI command (default 30 s); a command
	// that takes longer means charon is wedged, and the session is dropped
	// and dialled again.
	CommandTimeout time.Duration
	// RefreshInterval is how often list-sas refreshes counters (default 5 s).
	RefreshInterval time.Duration
	// Logf, if set, gets one line per action and per charon reconnect.
	// Secrets are never passed to it.
	Logf func(format string, args ...any)
	// CharonPolicies makes charon install its own policies (policies =
	// yes). Only for kernel-libipsec, whose policies live in userspace
	// where package xfrm cannot reach: tests on hosts without ESP.
	CharonPolicies bool
}

// session is the part of *vici.Session the client uses for commands.
type session interface {
	CommandRequest(cmd string, msg *vici.Message) (*vici.Message, error)
	StreamedCommandRequest(cmd, event string, msg *vici.Message) ([]*vici.Message, error)
}

// Client keeps charon loaded with the desired tunnels and tracks their
// status. Create it with NewClient, start Run in a goroutine, and call
// Apply with the tunnels whenever the config changes.
type Client struct {
	opts Options

	// cmdMu serialises everything that talks to charon, so a reload and a
	// reconnect after a charon restart never interleave.
	cmdMu sync.Mutex
	sess  session
	conns []net.Conn // what the session dialled, closed by us when it dies

	mu       sync.Mutex
	desired  map[string]Conn
	order    []string          // desired names in config order
	loaded   map[string]string // name -> fingerprint loaded into the current charon
	tunnels  map[string]*tunnelState
	changed  chan struct{}
	connects int // sessions established; 1 + charon restarts seen
	// saLogs holds charon's log per IKE_SA unique id, and peers maps a
	// peer address to its tunnel, for explaining failures (explain.go).
	saLogs  map[string]*saLog
	peers   map[string]string
	presets map[string]explain.Preset

	// charonConns is what charon itself reported loaded at the last
	// Refresh (loaded.go).
	charonConns []string
}

// NewClient returns a client that is not yet connected.
func NewClient(o Options) *Client {
	if o.Socket == "" {
		o.Socket = SocketPath
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 30 * time.Second
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 5 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return &Client{
		opts:    o,
		desired: map[string]Conn{},
		loaded:  map[string]string{},
		tunnels: map[string]*tunnelState{},
		changed: make(chan struct{}, 1),
		saLogs:  map[string]*saLog{},
		peers:   map[string]string{},
		presets: explainPresets(),
	}
}

// Connected reports whether a VICI session to charon is up.
func (c *Client) Connected() bool {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	return c.sess != nil
}

// Run connects to charon, loads everything, follows events and refreshes
// status until ctx ends. When charon goes away (crash, SIGKILL, restart by
// the supervisor) it dials again and reloads everything into the new one.
func (c *Client) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		evs, err := c.connect(ctx)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		c.follow(ctx, evs)
	}
	c.cmdMu.Lock()
	if c.sess != nil {
		c.dropLocked(ctx.Err())
	}
	c.cmdMu.Unlock()
	return ctx.Err()
}

// connect dials charon, subscribes to events and loads all tunnels.
func (c *Client) connect(ctx context.Context) (<-chan vici.Event, error) {
	s, conns, err := openSession(c.opts.Socket)
	if err != nil {
		return nil, err
	}
	evs := make(chan vici.Event, 4096) // govici drops events when this is full
	s.NotifyEvents(evs)
	// Subscribing blocks on charon's answer; bound it.
	conns.setDeadline(time.Now().Add(c.opts.CommandTimeout))
	if err := s.Subscribe(events...); err != nil {
		conns.close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	conns.setDeadline(time.Time{})
	c.cmdMu.Lock()
	c.sess, c.conns = s, conns.list()
	c.cmdMu.Unlock()

	c.mu.Lock()
	c.loaded = map[string]string{} // a new charon knows nothing
	c.connects++
	n := c.connects
	c.mu.Unlock()
	if n > 1 {
		c.opts.Logf("ipsec: reconnected to charon; reloading all tunnels")
	} else {
		c.opts.Logf("ipsec: connected to charon at %s", c.opts.Socket)
	}
	if err := c.reconcile(); err != nil {
		c.opts.Logf("ipsec: load: %v", err)
	}
	c.Refresh()
	return evs, nil
}

// follow handles events until the session ends.
func (c *Client) follow(ctx context.Context, evs <-chan vici.Event) {
	tick := time.NewTicker(c.opts.RefreshInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-evs:
			if !ok {
				c.cmdMu.Lock()
				if c.sess != nil {
					c.dropLocked(errors.New("event stream closed (charon gone)"))
				}
				c.cmdMu.Unlock()
				c.charonGone()
				return
			}
			if c.handleEvent(ev) {
				c.Refresh()
			}
		case <-tick.C:
			c.Refresh()
			// A failed load (e.g. charon busy) is retried here.
			c.mu.Lock()
			pending := len(PlanReload(c.desired, c.order, c.loaded).Load) > 0
			c.mu.Unlock()
			if pending {
				c.reconcile()
			}
		}
	}
}

// charonGone marks every tunnel down: with charon gone no SA lives on.
func (c *Client) charonGone() {
	c.mu.Lock()
	now := time.Now()
	c.charonConns = nil
	for _, ts := range c.tunnels {
		if ts.ikeUp && ts.childUp {
			ts.st.LastDown = now
		}
		ts.ikeUp, ts.childUp = false, false
		ts.st.IKEState, ts.st.Established, ts.st.Children = "", time.Time{}, nil
		ts.reason, ts.reasonAt = "charon (the IKE daemon) stopped; it is being restarted", now
	}
	c.mu.Unlock()
	c.notify()
}

func (c *Client) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Changed is signalled (coalesced) whenever some tunnel's status changes.
func (c *Client) Changed() <-chan struct{} { return c.changed }
