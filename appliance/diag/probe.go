package diag

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/tunneler/tunneler/appliance/monitor"
)

// Ping sends Count echo requests, one each Interval, from Source to
// Target, and writes a line per answer as ping(8) does.
type Ping struct {
	Tunnel            string
	Source, Target    netip.Addr
	Count             int
	Interval, Timeout time.Duration
}

func (p *Ping) Run(ctx context.Context, out Output) error {
	w := out.Lines
	from := "the kernel's choice"
	if p.Source.IsValid() {
		from = p.Source.String()
	}
	via := ""
	if p.Tunnel != "" {
		via = " through tunnel " + p.Tunnel
	}
	fmt.Fprintf(w, "PING %s from %s%s: %d echo requests\n", p.Target, from, via, p.Count)
	probe := &monitor.ICMP{Target: p.Target, Source: p.Source}
	got := 0
	var min, max, sum time.Duration
	for seq := 1; seq <= p.Count && ctx.Err() == nil; seq++ {
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, p.Timeout)
		err := probe.Probe(pctx)
		cancel()
		rtt := time.Since(start)
		if err != nil {
			fmt.Fprintf(w, "seq=%d: %v\n", seq, err)
		} else {
			got++
			if got == 1 || rtt < min {
				min = rtt
			}
			max = maxDur(max, rtt)
			sum += rtt
			fmt.Fprintf(w, "reply from %s: seq=%d time=%s\n", p.Target, seq, ms(rtt))
		}
		if seq < p.Count {
			sleep(ctx, start.Add(p.Interval))
		}
	}
	fmt.Fprintf(w, "%s: %d sent, %d received", p.Target, p.Count, got)
	if got > 0 {
		fmt.Fprintf(w, ", rtt min/avg/max %s/%s/%s", ms(min), ms(sum/time.Duration(got)), ms(max))
	}
	fmt.Fprintln(w)
	if got == 0 {
		return fmt.Errorf("no reply from %s", p.Target)
	}
	return ctx.Err()
}

// TCPConnect opens one TCP connection from Source to Target and closes
// it. A refusal is an answer too: the RST came from behind the tunnel.
type TCPConnect struct {
	Tunnel  string
	Source  netip.Addr
	Target  netip.AddrPort
	Timeout time.Duration
}

func (t *TCPConnect) Run(ctx context.Context, out Output) error {
	w := out.Lines
	fmt.Fprintf(w, "TCP connect to %s from %s through tunnel %s\n", t.Target, t.Source, t.Tunnel)
	d := net.Dialer{Timeout: t.Timeout}
	if t.Source.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: t.Source.AsSlice()}
	}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", t.Target.String())
	rtt := time.Since(start)
	switch {
	case err == nil:
		c.Close()
		fmt.Fprintf(w, "%s: open (connected in %s)\n", t.Target, ms(rtt))
		return nil
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(w, "%s: refused in %s: the host answered, but nothing listens on port %d\n", t.Target, ms(rtt), t.Target.Port())
		return nil
	case ctx.Err() != nil, isTimeout(err):
		fmt.Fprintf(w, "%s: no answer within %s\n", t.Target, t.Timeout)
		return fmt.Errorf("no answer from %s", t.Target)
	}
	fmt.Fprintf(w, "%s: %v\n", t.Target, err)
	return fmt.Errorf("connect to %s: %w", t.Target, err)
}

// Lookup asks the resolver at Server (the router's, on the inside
// address) for Name's A or AAAA records.
type Lookup struct {
	Name    string
	Type    string // A or AAAA
	Server  netip.AddrPort
	Timeout time.Duration
}

func (l *Lookup) Run(ctx context.Context, out Output) error {
	w := out.Lines
	fmt.Fprintf(w, "lookup %s %s at %s\n", l.Type, l.Name, l.Server)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", l.Server.String())
	}}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	network := "ip4"
	if l.Type == "AAAA" {
		network = "ip6"
	}
	start := time.Now()
	addrs, err := r.LookupNetIP(ctx, network, l.Name)
	took := time.Since(start)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			fmt.Fprintf(w, "%s: no %s record (answered in %s)\n", l.Name, l.Type, ms(took))
			return fmt.Errorf("%s: no %s record", l.Name, l.Type)
		}
		fmt.Fprintf(w, "%s: %v\n", l.Name, err)
		return fmt.Errorf("look up %s: %w", l.Name, err)
	}
	for _, a := range addrs {
		fmt.Fprintf(w, "%s %s %s\n", l.Name, l.Type, a.Unmap())
	}
	fmt.Fprintf(w, "%d address(es) in %s\n", len(addrs), ms(took))
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// sleep waits until t or until ctx ends.
func sleep(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}
