package ipsec

import (
	"fmt"
	"slices"

	"github.com/strongswan/govici/vici"
)

// What charon itself has loaded, as opposed to what the client asked it to
// load: the status shows both, so a connection left behind by a restore
// or a reload (or one missing) is seen, not assumed away.

// readCharonConns asks charon for the names of its loaded connections
// (VICI get-conns), sorted. Call with cmdMu held.
func (c *Client) readCharonConns() ([]string, error) {
	resp, err := c.request("get-conns", vici.NewMessage())
	if err != nil {
		return nil, fmt.Errorf("get-conns: %w", err)
	}
	names, _ := resp.Get("conns").([]string)
	names = slices.Clone(names)
	slices.Sort(names)
	return names, nil
}

// CharonConns returns the names of the connections charon reported loaded
// at the last Refresh (every RefreshInterval), sorted; nil before the
// first.
func (c *Client) CharonConns() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.charonConns)
}
