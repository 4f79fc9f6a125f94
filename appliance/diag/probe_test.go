package diag

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"golang.org/x/net/dns/dnsmessage"
)

// The probes run for real on loopback; raw sockets and AF_PACKET need
// root (PID 1 is).
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: raw ICMP and packet sockets")
	}
}

var lo = netip.MustParseAddr("127.0.0.1")

func TestPingLoopback(t *testing.T) {
	needRoot(t)
	var out bytes.Buffer
	p := &Ping{Source: lo, Target: lo, Count: 2, Interval: 50 * time.Millisecond, Timeout: time.Second}
	if err := p.Run(context.Background(), Output{Lines: &out}); err != nil {
		t.Fatalf("ping: %v\n%s", err, out.String())
	}
	for _, want := range []string{"PING 127.0.0.1 from 127.0.0.1", "reply from 127.0.0.1: seq=1", "reply from 127.0.0.1: seq=2", "2 sent, 2 received"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// An address nobody answers for: each echo says so, and the run fails.
	out.Reset()
	p = &Ping{Source: lo, Target: netip.MustParseAddr("192.0.2.254"), Count: 1, Interval: time.Second, Timeout: 200 * time.Millisecond}
	if err := p.Run(context.Background(), Output{Lines: &out}); err == nil || !strings.Contains(out.String(), "1 sent, 0 received") {
		t.Errorf("ping of nobody: %v\n%s", err, out.String())
	}
}

func TestTracerouteLoopback(t *testing.T) {
	needRoot(t)
	var out bytes.Buffer
	tr := &Traceroute{Tunnel: "t", Source: lo, Target: lo, MaxHops: 3, Timeout: time.Second}
	if err := tr.Run(context.Background(), Output{Lines: &out}); err != nil {
		t.Fatalf("traceroute: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), " 1  127.0.0.1  ") {
		t.Errorf("hop 1 is not the target:\n%s", out.String())
	}
}

func TestQuotesEcho(t *testing.T) {
	q := ip4pkt("100.64.0.1", "10.9.0.2", 1, 0, 0)
	q[20] = 8 // echo request, id 0x1234, seq 3
	q[24], q[25], q[26], q[27] = 0x12, 0x34, 0, 3
	if !quotesEcho(q, 0x1234, 3) || quotesEcho(q, 0x1234, 4) || quotesEcho(q, 1, 3) || quotesEcho(q[:24], 0x1234, 3) {
		t.Errorf("quotesEcho does not tell our echo apart")
	}
}

func TestTCPConnectLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	var out bytes.Buffer
	c := &TCPConnect{Source: lo, Target: netip.AddrPortFrom(lo, uint16(port)), Timeout: time.Second}
	if err := c.Run(context.Background(), Output{Lines: &out}); err != nil || !strings.Contains(out.String(), ": open (connected in") {
		t.Errorf("connect to a listener: %v\n%s", err, out.String())
	}
	ln.Close()
	out.Reset()
	if err := c.Run(context.Background(), Output{Lines: &out}); err != nil || !strings.Contains(out.String(), "refused in") {
		t.Errorf("connect to a closed port: %v\n%s", err, out.String())
	}
}

// fakeDNS answers A queries for web.example with 100.64.0.7 and says
// NXDOMAIN for every other name.
func fakeDNS(t *testing.T) netip.AddrPort {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var m dnsmessage.Message
			if m.Unpack(buf[:n]) != nil || len(m.Questions) != 1 {
				continue
			}
			q := m.Questions[0]
			m.Header.Response, m.Header.Authoritative = true, true
			if q.Name.String() == "web.example." && q.Type == dnsmessage.TypeA {
				m.Answers = []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: q.Name, Type: q.Type, Class: q.Class, TTL: 60},
					Body: &dnsmessage.AResource{A: [4]byte{100, 64, 0, 7}}}}
			} else {
				m.Header.RCode = dnsmessage.RCodeNameError
			}
			b, _ := m.Pack()
			pc.WriteTo(b, from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestLookup(t *testing.T) {
	srv := fakeDNS(t)
	var out bytes.Buffer
	l := &Lookup{Name: "web.example", Type: "A", Server: srv, Timeout: 2 * time.Second}
	if err := l.Run(context.Background(), Output{Lines: &out}); err != nil || !strings.Contains(out.String(), "web.example A 100.64.0.7") {
		t.Errorf("lookup: %v\n%s", err, out.String())
	}
	out.Reset()
	l.Name = "nothing.example"
	if err := l.Run(context.Background(), Output{Lines: &out}); err == nil || !strings.Contains(out.String(), "no A record") {
		t.Errorf("lookup of a missing name: %v\n%s", err, out.String())
	}
}

// A capture on lo with the inside preset's filter keeps a ping between
// "local" and "remote" and nothing else, and writes a pcap that reads back.
func TestCaptureLoopback(t *testing.T) {
	needRoot(t)
	local, remote := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	f, err := insideFilter([]netip.Prefix{netip.PrefixFrom(local, 32)}, []netip.Prefix{netip.PrefixFrom(remote, 32)})
	if err != nil {
		t.Fatal(err)
	}
	c := &Capture{Interface: "lo", Filter: f, Describe: "test", Duration: 1500 * time.Millisecond, MaxBytes: 1 << 20}
	var file, lines bytes.Buffer
	var lastPackets int
	done := make(chan error, 1)
	go func() {
		done <- c.Run(context.Background(), Output{Lines: &lines, File: &file, Progress: func(p, b int) { lastPackets = p }})
	}()
	time.Sleep(300 * time.Millisecond)
	(&Ping{Source: local, Target: remote, Count: 2, Interval: 100 * time.Millisecond, Timeout: time.Second}).Run(context.Background(), Output{Lines: &bytes.Buffer{}})
	(&Ping{Source: local, Target: local, Count: 1, Interval: time.Second, Timeout: time.Second}).Run(context.Background(), Output{Lines: &bytes.Buffer{}})
	if err := <-done; err != nil {
		t.Fatalf("capture: %v\n%s", err, lines.String())
	}
	r, err := pcapgo.NewReader(&file)
	if err != nil {
		t.Fatalf("read pcap: %v", err)
	}
	if r.LinkType() != layers.LinkTypeRaw {
		t.Errorf("link type %v", r.LinkType())
	}
	var icmp int
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil || p.Layer(layers.LayerTypeICMPv4) == nil {
			t.Errorf("captured a packet that is not ICMPv4: %v", p)
			continue
		}
		if ip.SrcIP.Equal(ip.DstIP) {
			t.Errorf("captured the ping from 127.0.0.1 to itself: the filter lets it through")
		}
		icmp++
	}
	if icmp != 4 || lastPackets != 4 || !strings.Contains(lines.String(), "captured 4 packets") {
		t.Errorf("captured %d ICMP packets, progress said %d; want 4 (2 requests, 2 replies)\n%s", icmp, lastPackets, lines.String())
	}
	// The size bound stops it: a file of the header and nothing more.
	file.Reset()
	c.MaxBytes, c.Duration = pcapHeader+10, 5*time.Second
	go func() {
		done <- c.Run(context.Background(), Output{Lines: &lines, File: &file})
	}()
	time.Sleep(200 * time.Millisecond)
	(&Ping{Source: local, Target: remote, Count: 1, Interval: time.Second, Timeout: time.Second}).Run(context.Background(), Output{Lines: &bytes.Buffer{}})
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("the size bound did not stop the capture")
	}
	if file.Len() != pcapHeader || !strings.Contains(lines.String(), "(size limit)") {
		t.Errorf("size-bound capture wrote %d bytes:\n%s", file.Len(), lines.String())
	}
}
