package opmenu

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"
)

// MaxPings bounds the count an operator can ask for.
const MaxPings = 10

// Ping sends count ICMP echo requests (at most MaxPings, one a second) to
// an IPv4 address and writes a line per reply, as ping(8) would. It
// needs no ping binary: PID 1 opens the raw socket itself.
func Ping(ctx context.Context, target netip.Addr, count int, w io.Writer) error {
	if !target.Is4() && !target.Is4In6() {
		return fmt.Errorf("%s: only IPv4 addresses can be pinged from the console", target)
	}
	target = target.Unmap()
	count = max(1, min(count, MaxPings))
	conn, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return fmt.Errorf("open ICMP socket: %w", err)
	}
	defer conn.Close()
	id := uint16(os.Getpid()) ^ uint16(time.Now().UnixNano())
	dst := &net.IPAddr{IP: target.AsSlice()}
	received := 0
	fmt.Fprintf(w, "PING %s: %d echo requests\n", target, count)
	for seq := 1; seq <= count; seq++ {
		if ctx.Err() != nil {
			break
		}
		sent := time.Now()
		if _, err := conn.WriteTo(echoRequest(id, uint16(seq)), dst); err != nil {
			fmt.Fprintf(w, "seq=%d: send: %v\n", seq, err)
		} else if rtt, ok := awaitReply(conn, target, id, uint16(seq), sent.Add(time.Second)); ok {
			received++
			fmt.Fprintf(w, "reply from %s: seq=%d time=%.1f ms\n", target, seq, float64(rtt.Microseconds())/1000)
		} else {
			fmt.Fprintf(w, "seq=%d: no reply within 1s\n", seq)
		}
		if wait := time.Until(sent.Add(time.Second)); wait > 0 && seq < count {
			time.Sleep(wait)
		}
	}
	fmt.Fprintf(w, "%s: %d sent, %d received\n", target, count, received)
	return nil
}

func awaitReply(conn net.PacketConn, from netip.Addr, id, seq uint16, deadline time.Time) (time.Duration, bool) {
	buf := make([]byte, 1500)
	start := time.Now()
	conn.SetReadDeadline(deadline)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			return 0, false
		}
		ip, ok := addr.(*net.IPAddr)
		if !ok {
			continue
		}
		a, _ := netip.AddrFromSlice(ip.IP)
		if a.Unmap() != from || n < 8 || buf[0] != 0 { // type 0: echo reply
			continue
		}
		if binary.BigEndian.Uint16(buf[4:]) == id && binary.BigEndian.Uint16(buf[6:]) == seq {
			return time.Since(start), true
		}
	}
}

func echoRequest(id, seq uint16) []byte {
	b := make([]byte, 8+32)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(i)
	}
	binary.BigEndian.PutUint16(b[2:], checksum(b))
	return b
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
