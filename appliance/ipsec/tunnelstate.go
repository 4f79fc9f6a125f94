package ipsec

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tunneler/tunneler/appliance/ipsec/explain"
)

type tunnelState struct {
	st        TunnelStatus
	responder bool
	everUp    bool
	ikeUp     bool
	childUp   bool
	reason    string
	reasonAt  time.Time
	rekeys    Rekeys
	// explained is the last explanation of a failure from charon's log
	// (package explain); expect is the config it is read against.
	explained explain.Explanation
	expect    explain.Expect
}

// Rekeys counts rekeyings seen in charon's events since the box started.
type Rekeys struct {
	IKE, Child         int
	LastIKE, LastChild time.Time
}

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
		if ts.explained.Kind != "" {
			e := ts.explained
			st.Explained = &e
		}
	}
	// NAT and the device's vendor IDs are facts worth showing either way.
	st.NATSeen, st.VendorIDs = slices.Clone(ts.explained.NAT), slices.Clone(ts.explained.VendorIDs)
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
