package firewall

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nsConn opens an nftables connection inside ns.
func nsConn(t testing.TB, ns *testenv.Netns) *nftables.Conn {
	t.Helper()
	conn, err := nftables.New(nftables.WithNetNSFd(int(ns.Handle())))
	if err != nil {
		t.Fatalf("nftables conn in %s: %v", ns.Name, err)
	}
	return conn
}

func nsNetlink(t testing.TB, ns *testenv.Netns) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns.Handle())
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", ns.Name, err)
	}
	t.Cleanup(h.Close)
	return h
}

func mustApply(t testing.TB, conn *nftables.Conn, spec Spec) {
	t.Helper()
	if err := Apply(conn, spec); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func counter(t testing.TB, conn *nftables.Conn, name string) uint64 {
	t.Helper()
	cs, err := Counters(conn)
	if err != nil {
		t.Fatalf("Counters: %v", err)
	}
	c, ok := cs[name]
	if !ok {
		t.Fatalf("no counter %q in %v", name, cs)
	}
	return c.Packets
}

func addr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// lab is the box and its neighbours, each in its own namespace:
//
//	wan  p0 192.0.2.2 (a peer), 192.0.2.3 (not) ── wan0 192.0.2.1 ┐
//	lan  l0 10.9.0.2, 10.9.0.3                  ── lan0 10.9.0.1  ├ box (lo: 100.64.0.1)
//	site s0 172.16.0.2                          ── xf0 172.16.0.1 ┘
//
// xf0 stands in for an xfrm interface (this kernel has none): listed in
// RouteInterfaces, packets arriving on it are what a route-based tunnel
// delivers after decryption.
type lab struct {
	box, wan, lan, site *testenv.Netns
	conn                *nftables.Conn
}

func newLab(t testing.TB) *lab {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "ping")
	l := &lab{
		box:  testenv.NewNetns(t, "box"),
		wan:  testenv.NewNetns(t, "wan"),
		lan:  testenv.NewNetns(t, "lan"),
		site: testenv.NewNetns(t, "site"),
	}
	testenv.Veth(t, l.box, "wan0", l.wan, "p0")
	testenv.Veth(t, l.box, "lan0", l.lan, "l0")
	testenv.Veth(t, l.box, "xf0", l.site, "s0")
	for _, c := range [][]string{
		{"addr", "add", "192.0.2.1/24", "dev", "wan0"},
		{"addr", "add", "10.9.0.1/24", "dev", "lan0"},
		{"addr", "add", "172.16.0.1/24", "dev", "xf0"},
		{"addr", "add", "100.64.0.1/32", "dev", "lo"},
	} {
		l.box.Run(t, "ip", c...)
	}
	l.box.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	l.wan.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "p0")
	l.wan.Run(t, "ip", "addr", "add", "192.0.2.3/24", "dev", "p0")
	l.wan.Run(t, "ip", "route", "add", "default", "via", "192.0.2.1")
	l.lan.Run(t, "ip", "addr", "add", "10.9.0.2/24", "dev", "l0")
	l.lan.Run(t, "ip", "addr", "add", "10.9.0.3/24", "dev", "l0")
	l.lan.Run(t, "ip", "route", "add", "default", "via", "10.9.0.1")
	l.site.Run(t, "ip", "addr", "add", "172.16.0.2/24", "dev", "s0")
	l.site.Run(t, "ip", "route", "add", "default", "via", "172.16.0.1")
	l.conn = nsConn(t, l.box)
	return l
}

func (l *lab) spec() Spec {
	return Spec{
		WAN:             []string{"wan0"},
		LAN:             []string{"lan0"},
		Peers:           []netip.Addr{addr("192.0.2.2")},
		InsideAddr:      addr("100.64.0.1"),
		InterceptRange:  prefix("100.64.0.0/10"),
		RouteInterfaces: []RouteIface{{Name: "xf0", MTU: 1300}},
	}
}

// in runs fn inside ns and fails the test on error.
func in(t testing.TB, ns *testenv.Netns, fn func() error) {
	t.Helper()
	if err := ns.Do(fn); err != nil {
		t.Fatal(err)
	}
}

// udpListen opens a UDP socket in ns on a.
func udpListen(t testing.TB, ns *testenv.Netns, a string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	in(t, ns, func() (err error) {
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(a)))
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// udpPasses sends one datagram from src (in ns from) to dst, where a
// socket listens in the box, and reports whether it arrived.
func udpPasses(t testing.TB, l *lab, from *testenv.Netns, src, dst string) bool {
	t.Helper()
	ln := udpListen(t, l.box, dst)
	var c *net.UDPConn
	in(t, from, func() (err error) {
		c, err = net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(src)), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(dst)))
		return err
	})
	defer c.Close()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatalf("send %s -> %s: %v", src, dst, err)
	}
	ln.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 64)
	n, _, err := ln.ReadFromUDP(buf)
	ln.Close()
	return err == nil && string(buf[:n]) == "hello"
}

// tcpListen listens in ns on a.
func tcpListen(t testing.TB, ns *testenv.Netns, a string) net.Listener {
	t.Helper()
	var ln net.Listener
	in(t, ns, func() (err error) {
		ln, err = net.Listen("tcp", a)
		return err
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// tcpDial connects from src (in ns from) to dst.
func tcpDial(t testing.TB, from *testenv.Netns, src, dst string, timeout time.Duration) (net.Conn, error) {
	t.Helper()
	var c net.Conn
	var derr error
	in(t, from, func() error {
		d := net.Dialer{Timeout: timeout}
		if src != "" {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src))
		}
		c, derr = d.Dial("tcp", dst)
		return nil
	})
	return c, derr
}

func tcpPasses(t testing.TB, l *lab, from *testenv.Netns, src, dst string) bool {
	t.Helper()
	ln := tcpListen(t, l.box, dst)
	defer ln.Close()
	c, err := tcpDial(t, from, src, dst, 400*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func pingPasses(t testing.TB, from *testenv.Netns, args ...string) bool {
	t.Helper()
	out, err := from.Command("ping", append([]string{"-c1", "-W1"}, args...)...).CombinedOutput()
	return err == nil && strings.Contains(string(out), "1 received")
}

// transparentListen opens the kind of socket the ziti router's tproxy
// listener is: IP_TRANSPARENT, on 127.0.0.1 with an ephemeral port.
func transparentListen(t testing.TB, ns *testenv.Netns, network string) (tcp net.Listener, udp net.PacketConn, port uint16) {
	t.Helper()
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TRANSPARENT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	in(t, ns, func() (err error) {
		if network == "tcp" {
			tcp, err = lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err == nil {
				port = uint16(tcp.Addr().(*net.TCPAddr).Port)
			}
			return err
		}
		udp, err = lc.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
		if err == nil {
			port = uint16(udp.LocalAddr().(*net.UDPAddr).Port)
		}
		return err
	})
	if tcp != nil {
		t.Cleanup(func() { tcp.Close() })
	}
	if udp != nil {
		t.Cleanup(func() { udp.Close() })
	}
	return tcp, udp, port
}
