package ipsec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/config"
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
}

type tunnelState struct {
	st        TunnelStatus
	responder bool
	everUp    bool
	ikeUp     bool
	childUp   bool
	reason    string
	reasonAt  time.Time
	rekeys    Rekeys
}

// Rekeys counts rekeyings seen in charon's events since the box started.
type Rekeys struct {
	IKE, Child         int
	LastIKE, LastChild time.Time
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
	}
}

// Apply sets the desired tunnels (with config defaults applied) and, when
// connected, loads what changed and unloads what went. Without a charon it
// only records them: Run loads everything on connect.
func (c *Client) Apply(tunnels []config.Tunnel) error {
	ids := ReqIDs(tunnels)
	desired := map[string]Conn{}
	var order []string
	var errs []error
	for _, t := range tunnels {
		conn, err := NewConn(t, ids[t.Name])
		if c.opts.CharonPolicies && err == nil {
			conn.charonPolicies()
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		desired[t.Name] = conn
		order = append(order, t.Name)
	}
	c.mu.Lock()
	c.desired, c.order = desired, order
	for _, t := range tunnels {
		ts := c.tunnel(t.Name)
		ts.responder = t.Initiation == config.Responder
	}
	for name := range c.tunnels {
		if _, ok := desired[name]; !ok {
			delete(c.tunnels, name)
		}
	}
	c.mu.Unlock()
	c.notify()
	if err := c.reconcile(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// charonPolicies flips policies = no to yes (kernel-libipsec only).
func (c *Conn) charonPolicies() {
	children, _ := c.conn.Get("children").(*vici.Message)
	if children == nil {
		return
	}
	if child, ok := children.Get(c.Name).(*vici.Message); ok {
		child.Set("policies", "yes")
	}
	c.fingerprint += "+charon-policies"
}

// ReqID returns the fixed reqid of a desired tunnel, for package xfrm.
func (c *Client) ReqID(name string) (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, ok := c.desired[name]
	return conn.ReqID, ok
}

// Plan says what reconcile will send to charon.
type Plan struct {
	Load   []Conn   // new or changed, in config order
	Unload []string // loaded but no longer wanted, sorted
	// Changed are the names in Load that charon already had: their old
	// SAs are terminated so the new settings take effect.
	Changed []string
}

// PlanReload diffs what is loaded (name -> fingerprint) against desired.
func PlanReload(desired map[string]Conn, order []string, loaded map[string]string) Plan {
	var p Plan
	for _, name := range order {
		d := desired[name]
		fp, ok := loaded[name]
		if ok && fp == d.fingerprint {
			continue
		}
		p.Load = append(p.Load, d)
		if ok {
			p.Changed = append(p.Changed, name)
		}
	}
	for name := range loaded {
		if _, ok := desired[name]; !ok {
			p.Unload = append(p.Unload, name)
		}
	}
	sort.Strings(p.Unload)
	return p
}

// reconcile brings charon in line with desired.
func (c *Client) reconcile() error {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	if c.sess == nil {
		return nil
	}
	c.mu.Lock()
	plan := PlanReload(c.desired, c.order, c.loaded)
	c.mu.Unlock()

	var errs []error
	for _, name := range plan.Unload {
		c.opts.Logf("ipsec: unloading tunnel %q", name)
		if err := c.cmd("unload-conn", msg("name", name)); err != nil {
			errs = append(errs, fmt.Errorf("unload conn %q: %w", name, err))
		}
		if err := c.cmd("unload-shared", msg("id", secretID(name))); err != nil {
			errs = append(errs, fmt.Errorf("unload secret of %q: %w", name, err))
		}
		c.terminateLocked(name)
		c.mu.Lock()
		delete(c.loaded, name)
		c.mu.Unlock()
	}
	for _, conn := range plan.Load {
		if slices.Contains(plan.Changed, conn.Name) {
			// Old SAs keep the old settings (and the old PSK) until they
			// go; take them down so the new ones apply now.
			c.opts.Logf("ipsec: tunnel %q changed, reloading", conn.Name)
			if err := c.cmd("unload-conn", msg("name", conn.Name)); err != nil {
				errs = append(errs, fmt.Errorf("unload conn %q: %w", conn.Name, err))
			}
			c.terminateLocked(conn.Name)
		} else {
			c.opts.Logf("ipsec: loading tunnel %q (reqid %d)", conn.Name, conn.ReqID)
		}
		if err := c.cmd("load-shared", conn.SecretMessage()); err != nil {
			errs = append(errs, fmt.Errorf("load secret of %q: %w", conn.Name, err))
			continue
		}
		if err := c.cmd("load-conn", conn.Message()); err != nil {
			errs = append(errs, fmt.Errorf("load conn %q: %w", conn.Name, err))
			continue
		}
		c.mu.Lock()
		c.loaded[conn.Name] = conn.fingerprint
		c.mu.Unlock()
	}
	return errors.Join(errs...)
}

func msg(kv ...string) *vici.Message {
	m := vici.NewMessage()
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i], kv[i+1])
	}
	return m
}

// cmd runs one VICI command under the command timeout. Call with cmdMu held.
func (c *Client) cmd(name string, m *vici.Message) error {
	_, err := c.request(name, m)
	return err
}

func (c *Client) request(name string, m *vici.Message) (*vici.Message, error) {
	if c.sess == nil {
		return nil, errNotConnected
	}
	c.deadline()
	defer c.clearDeadline()
	resp, err := c.sess.CommandRequest(name, m)
	if err != nil && resp == nil {
		c.dropLocked(err)
	}
	return resp, err
}

func (c *Client) streamed(name, event string, m *vici.Message) ([]*vici.Message, error) {
	if c.sess == nil {
		return nil, errNotConnected
	}
	c.deadline()
	defer c.clearDeadline()
	resp, err := c.sess.StreamedCommandRequest(name, event, m)
	if err != nil {
		c.dropLocked(err)
	}
	return resp, err
}

var errNotConnected = errors.New("not connected to charon")

func (c *Client) deadline() {
	if len(c.conns) > 0 {
		c.conns[0].SetDeadline(time.Now().Add(c.opts.CommandTimeout))
	}
}

func (c *Client) clearDeadline() {
	if len(c.conns) > 0 {
		c.conns[0].SetDeadline(time.Time{})
	}
}

// dropLocked forgets a session whose transport failed; closing the event
// connection ends Run's event loop, which dials again.
func (c *Client) dropLocked(err error) {
	c.opts.Logf("ipsec: vici session lost: %v", err)
	for _, conn := range c.conns {
		conn.Close()
	}
	c.sess, c.conns = nil, nil
}

func (c *Client) terminateLocked(name string) {
	m := msg("ike", name, "timeout", "-1")
	if err := c.cmd("terminate", m); err != nil && !strings.Contains(err.Error(), "no matching") {
		c.opts.Logf("ipsec: terminate %q: %v", name, err)
	}
}

// Initiate starts the tunnel's CHILD_SA (and IKE_SA) without waiting.
func (c *Client) Initiate(name string) error {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	m := msg("child", name, "ike", name, "timeout", "-1", "init-limits", "no")
	if err := c.cmd("initiate", m); err != nil {
		return fmt.Errorf("initiate %q: %w", name, err)
	}
	return nil
}

// Terminate closes the tunnel's SAs. An initiator stays down until
// Initiate (or a charon restart, which loads and starts everything).
func (c *Client) Terminate(name string) error {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	if c.sess == nil {
		return errNotConnected
	}
	c.setReason(name, "closed on request (terminate)")
	c.terminateLocked(name)
	return nil
}

// Reconnect closes the tunnel's SAs and starts them again.
func (c *Client) Reconnect(name string) error {
	if err := c.Terminate(name); err != nil {
		return err
	}
	// terminate was asynchronous; give the DELETE a moment to go out so
	// the new IKE_SA is not replaced by the old one's teardown.
	time.Sleep(200 * time.Millisecond)
	return c.Initiate(name)
}

// Rekey rekeys the tunnel's IKE_SA (ike true) or its CHILD_SA; reauth
// re-authenticates the IKE_SA instead.
func (c *Client) Rekey(name string, ike, reauth bool) error {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	m := vici.NewMessage()
	if ike {
		m.Set("ike", name)
		if reauth {
			m.Set("reauth", "yes")
		}
	} else {
		m.Set("child", name)
	}
	if err := c.cmd("rekey", m); err != nil {
		return fmt.Errorf("rekey %q: %w", name, err)
	}
	return nil
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
	var conns []net.Conn
	var dmu sync.Mutex
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
		if err == nil {
			dmu.Lock()
			conns = append(conns, conn)
			dmu.Unlock()
		}
		return conn, err
	}
	s, err := vici.NewSession(vici.WithSocketPath(c.opts.Socket), vici.WithDialContext(dial))
	if err != nil {
		for _, conn := range conns {
			conn.Close()
		}
		return nil, err
	}
	evs := make(chan vici.Event, 4096) // govici drops events when this is full
	s.NotifyEvents(evs)
	// Subscribing blocks on charon's answer; bound it.
	for _, conn := range conns {
		conn.SetDeadline(time.Now().Add(c.opts.CommandTimeout))
	}
	if err := s.Subscribe(events...); err != nil {
		for _, conn := range conns {
			conn.Close()
		}
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	for _, conn := range conns {
		conn.SetDeadline(time.Time{})
	}
	c.cmdMu.Lock()
	c.sess, c.conns = s, conns
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

// tunnel returns the state of name, creating it. Call with mu held.
func (c *Client) tunnel(name string) *tunnelState {
	ts, ok := c.tunnels[name]
	if !ok {
		ts = &tunnelState{st: TunnelStatus{Name: name}}
		c.tunnels[name] = ts
	}
	return ts
}

func (c *Client) setReason(name, reason string) {
	c.mu.Lock()
	if ts, ok := c.tunnels[name]; ok {
		ts.reason, ts.reasonAt = reason, time.Now()
	}
	c.mu.Unlock()
	c.notify()
}

// Status returns every desired tunnel's status, in config order.
func (c *Client) Status() []TunnelStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TunnelStatus, 0, len(c.order))
	for _, name := range c.order {
		out = append(out, c.statusLocked(name))
	}
	return out
}

// Tunnel returns one tunnel's status.
func (c *Client) Tunnel(name string) (TunnelStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tunnels[name]; !ok {
		return TunnelStatus{}, false
	}
	return c.statusLocked(name), true
}

// RekeyCounts returns the rekeyings seen for a tunnel.
func (c *Client) RekeyCounts(name string) Rekeys {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts, ok := c.tunnels[name]; ok {
		return ts.rekeys
	}
	return Rekeys{}
}

func (c *Client) statusLocked(name string) TunnelStatus {
	ts := c.tunnel(name)
	st := ts.st
	st.Children = slices.Clone(st.Children)
	st.Colour = colour(ts.ikeUp, ts.childUp, ts.everUp)
	if st.Colour != Green {
		st.Reason = ts.reason
		if st.Reason == "" {
			st.Reason = fallbackReason(st, ts.responder)
		}
	}
	return st
}

// WaitUp waits until the tunnel is green, for tests and `make bench`.
func (c *Client) WaitUp(ctx context.Context, name string) (TunnelStatus, error) {
	return c.WaitFor(ctx, name, func(s TunnelStatus) bool { return s.Colour == Green })
}

// WaitFor waits until cond holds for the tunnel's status.
func (c *Client) WaitFor(ctx context.Context, name string, cond func(TunnelStatus) bool) (TunnelStatus, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		st, _ := c.Tunnel(name)
		if cond(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("tunnel %q: %w (colour %s, %s)", name, ctx.Err(), st.Colour, st.Reason)
		case <-t.C:
		}
	}
}
