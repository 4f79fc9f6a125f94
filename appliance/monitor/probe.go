package monitor

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ICMP probes with an echo request. It uses an unprivileged ICMP socket
// (SOCK_DGRAM, IPPROTO_ICMP: the kernel picks the echo id and hands back
// only our replies) when net.ipv4.ping_group_range allows, and otherwise
// a raw socket (needs CAP_NET_RAW, which PID 1 has).
type ICMP struct {
	Target netip.Addr
	// Source is bound as the probe's source address; it must be an
	// address of the box. Zero lets the kernel choose.
	Source netip.Addr
	// Raw skips the unprivileged socket (for tests).
	Raw bool
	seq atomic.Uint32
}

func (p *ICMP) String() string { return "icmp " + p.Target.String() }

func (p *ICMP) Probe(ctx context.Context) error {
	v6 := p.Target.Is6() && !p.Target.Is4In6()
	src := ""
	if p.Source.IsValid() {
		src = p.Source.String()
	}
	dgram, raw, proto := "udp4", "ip4:icmp", 1
	var echo, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if v6 {
		dgram, raw, proto = "udp6", "ip6:ipv6-icmp", 58
		echo, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	var c *icmp.PacketConn
	var err error
	isRaw := p.Raw
	if !isRaw {
		c, err = icmp.ListenPacket(dgram, src)
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			isRaw = true
		}
	}
	if isRaw {
		c, err = icmp.ListenPacket(raw, src)
	}
	if err != nil {
		return fmt.Errorf("open icmp socket: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()

	var idb [2]byte
	rand.Read(idb[:])
	id := int(idb[0])<<8 | int(idb[1])
	seq := int(p.seq.Add(1) & 0xffff)
	payload := []byte("tunneler monitor")
	b, err := (&icmp.Message{Type: echo, Body: &icmp.Echo{ID: id, Seq: seq, Data: payload}}).Marshal(nil)
	if err != nil {
		return err
	}
	var dst net.Addr = &net.UDPAddr{IP: p.Target.AsSlice()}
	if isRaw {
		dst = &net.IPAddr{IP: p.Target.AsSlice()}
	}
	if _, err := c.WriteTo(b, dst); err != nil {
		return fmt.Errorf("send echo to %s: %w", p.Target, err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("no echo reply from %s: timeout", p.Target)
			}
			return fmt.Errorf("read echo reply: %w", err)
		}
		if AddrOf(from) != p.Target.Unmap() {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		// The kernel rewrites the id of unprivileged sockets to the
		// socket's port and filters by it; raw sockets see every reply.
		if !ok || e.Seq != seq || (isRaw && e.ID != id) {
			continue
		}
		return nil
	}
}

// AddrOf is the IP address an ICMP socket read came from, whether the
// socket is raw (*net.IPAddr) or unprivileged (*net.UDPAddr).
func AddrOf(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	x, _ := netip.AddrFromSlice(ip)
	return x.Unmap()
}

// TCP probes with a TCP connect. A refused connection counts as an
// answer: the RST came from behind the tunnel, so the tunnel works.
type TCP struct {
	Target netip.AddrPort
	Source netip.Addr
}

func (p TCP) String() string { return "tcp " + p.Target.String() }

func (p TCP) Probe(ctx context.Context) error {
	var d net.Dialer
	if p.Source.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: p.Source.AsSlice()}
	}
	c, err := d.DialContext(ctx, "tcp", p.Target.String())
	if err == nil {
		c.Close()
		return nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("no answer from %s: timeout", p.Target)
	}
	return err
}
