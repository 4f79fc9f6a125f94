package ipsec

import (
	"errors"
	"strings"
	"time"

	"github.com/strongswan/govici/vici"
)

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
