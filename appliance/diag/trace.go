package diag

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/tunneler/tunneler/appliance/monitor"
)

// Traceroute sends ICMP echo requests from Source with growing TTLs, one
// per hop, and names each hop that answers with time exceeded, up to
// MaxHops or the Target's echo reply. It needs a raw socket (PID 1 has
// CAP_NET_RAW): time exceeded never reaches an unprivileged ICMP socket.
type Traceroute struct {
	Tunnel         string
	Source, Target netip.Addr
	MaxHops        int
	Timeout        time.Duration // per hop
}

func (t *Traceroute) Run(ctx context.Context, out Output) error {
	w := out.Lines
	src := "0.0.0.0"
	if t.Source.IsValid() {
		src = t.Source.String()
	}
	c, err := icmp.ListenPacket("ip4:icmp", src)
	if err != nil {
		return fmt.Errorf("traceroute: open raw ICMP socket on %s: %w", src, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	var idb [2]byte
	rand.Read(idb[:])
	id := int(binary.BigEndian.Uint16(idb[:]))
	fmt.Fprintf(w, "traceroute to %s from %s through tunnel %s, %d hops max\n", t.Target, src, t.Tunnel, t.MaxHops)
	for ttl := 1; ttl <= t.MaxHops; ttl++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := c.IPv4PacketConn().SetTTL(ttl); err != nil {
			return fmt.Errorf("traceroute: set TTL %d: %w", ttl, err)
		}
		b, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: ttl, Data: []byte("tunneler traceroute")}}).Marshal(nil)
		start := time.Now()
		if _, err := c.WriteTo(b, &net.IPAddr{IP: t.Target.AsSlice()}); err != nil {
			fmt.Fprintf(w, "%2d  send: %v\n", ttl, err)
			continue
		}
		hop, kind, ok := t.await(c, id, ttl, start.Add(t.Timeout))
		if !ok {
			fmt.Fprintf(w, "%2d  *\n", ttl)
			continue
		}
		fmt.Fprintf(w, "%2d  %s  %s%s\n", ttl, hop, ms(time.Since(start)), kind)
		if hop == t.Target || kind != "" {
			if hop == t.Target {
				return nil
			}
			return fmt.Errorf("%s is unreachable from %s%s", t.Target, hop, kind)
		}
	}
	return fmt.Errorf("%s not reached within %d hops", t.Target, t.MaxHops)
}

// await reads until the answer to echo (id, seq): the hop that sent it,
// and " !H"-style marks for an unreachable.
func (t *Traceroute) await(c *icmp.PacketConn, id, seq int, deadline time.Time) (netip.Addr, string, bool) {
	c.SetReadDeadline(deadline)
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(deadline) {
				return netip.Addr{}, "", false
			}
			return netip.Addr{}, "", false
		}
		hop := monitor.AddrOf(from)
		m, err := icmp.ParseMessage(1, buf[:n])
		if err != nil {
			continue
		}
		switch body := m.Body.(type) {
		case *icmp.Echo:
			if m.Type == ipv4.ICMPTypeEchoReply && body.ID == id && body.Seq == seq && hop == t.Target {
				return hop, "", true
			}
		case *icmp.TimeExceeded:
			if quotesEcho(body.Data, id, seq) {
				return hop, "", true
			}
		case *icmp.DstUnreach:
			if quotesEcho(body.Data, id, seq) {
				return hop, unreachMark(m.Code), true
			}
		}
	}
}

// quotesEcho reports whether an ICMP error's quoted datagram (the IPv4
// header and 8 bytes after it) is our echo request (id, seq).
func quotesEcho(q []byte, id, seq int) bool {
	if len(q) < 20 || q[0]>>4 != 4 {
		return false
	}
	ihl := int(q[0]&0x0f) * 4
	if ihl < 20 || len(q) < ihl+8 || q[9] != 1 || q[ihl] != 8 {
		return false
	}
	return int(binary.BigEndian.Uint16(q[ihl+4:])) == id && int(binary.BigEndian.Uint16(q[ihl+6:])) == seq
}

func unreachMark(code int) string {
	switch code {
	case 0:
		return " !N (network unreachable)"
	case 1:
		return " !H (host unreachable)"
	case 3:
		return " (port unreachable)"
	case 9, 10, 13:
		return " !X (administratively prohibited)"
	}
	return fmt.Sprintf(" !<%d> (unreachable)", code)
}
