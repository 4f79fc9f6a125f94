package opmenu

import (
	"context"
	"io"
	"net/netip"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/diag"
)

// PingCount is how many echo requests the menu's ping sends.
const PingCount = 4

// pingFor plans the menu's ping of target: from the inside address
// through the tunnel whose remote networks hold target, as the router's
// traffic goes; otherwise from whatever address the kernel picks (a
// gateway, a DNS server on the WAN or the LAN).
func pingFor(c config.Config, target netip.Addr) *diag.Ping {
	p := &diag.Ping{Target: target.Unmap(), Count: PingCount, Interval: time.Second, Timeout: time.Second}
	for _, t := range diag.Tunnels(c) {
		for _, n := range t.Remote {
			if n.Contains(p.Target) {
				p.Tunnel, p.Source = t.Name, t.Source
				return p
			}
		}
	}
	return p
}

// runPing runs p (PID 1 opens the ICMP socket itself; no ping binary).
func runPing(ctx context.Context, p *diag.Ping, w io.Writer) error {
	return p.Run(ctx, diag.Output{Lines: w})
}
