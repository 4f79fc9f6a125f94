package ipsec

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/config"
)

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
	c.peers = map[string]string{}
	for _, t := range tunnels {
		ts := c.tunnel(t.Name)
		ts.responder = t.Initiation == config.Responder
		ts.expect = expectOf(t, c.presets)
		c.peers[t.PeerAddress] = t.Name
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
		if err := c.loadCredentials(conn, slices.Contains(plan.Changed, conn.Name)); err != nil {
			errs = append(errs, err)
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

// loadCredentials gives charon the tunnel's PSK, or the box's key for a
// certificate tunnel (its certificates travel in load-conn). A tunnel
// that changed from PSK to certificates loses its old PSK.
func (c *Client) loadCredentials(conn Conn, changed bool) error {
	if conn.secret != nil {
		if err := c.cmd("load-shared", conn.secret); err != nil {
			return fmt.Errorf("load secret of %q: %w", conn.Name, err)
		}
		return nil
	}
	if changed {
		if err := c.cmd("unload-shared", msg("id", secretID(conn.Name))); err != nil {
			c.opts.Logf("ipsec: unload the old secret of %q: %v", conn.Name, err)
		}
	}
	if err := c.cmd("load-key", conn.key); err != nil {
		return fmt.Errorf("load the box's key for %q: %w", conn.Name, err)
	}
	return nil
}
