package opmenu

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
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

func (b *Menu) ping(s *console.Session) error {
	a, ok := s.Ask("Address to ping: ")
	if !ok {
		return io.EOF
	}
	target, err := netip.ParseAddr(a)
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		found, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip4", a)
		cancel()
		if lerr != nil || len(found) == 0 {
			return fmt.Errorf("%q is not an IPv4 address or a name that resolves", a)
		}
		target = found[0]
	}
	ping := b.Ping
	if ping == nil {
		ping = runPing
	}
	c, _, _ := b.current() // no tunnels known: the kernel picks the source
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return ping(ctx, pingFor(c, target), s)
}
