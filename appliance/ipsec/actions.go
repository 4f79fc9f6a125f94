package ipsec

import (
	"fmt"
	"time"

	"github.com/strongswan/govici/vici"
)

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
