package firewall

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/vishvananda/netlink"
)

// divert runs the diverter command inside ns, as the router would.
func divert(t *testing.T, ns *testenv.Netns, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := 0
	in(t, ns, func() error {
		code = RunDiverter(args, &out, &errb)
		return nil
	})
	return out.String() + errb.String(), code
}

func mustDivert(t *testing.T, ns *testenv.Netns, args ...string) string {
	t.Helper()
	out, code := divert(t, ns, args...)
	if code != 0 {
		t.Fatalf("diverter %q: exit %d: %s", args, code, out)
	}
	return out
}

func insertArgs(dst, proto, ports string, tport uint16, svc string) []string {
	lo, hi, _ := strings.Cut(ports, "-")
	return []string{"-I", "-c", dst, "-m", "32", "-p", proto, "-o", "0.0.0.0", "-n", "0",
		"-l", lo, "-h", hi, "-t", itoa(tport), "-s", svc}
}

func deleteArgs(dst, proto, ports string) []string {
	lo, hi, _ := strings.Cut(ports, "-")
	return []string{"-D", "-c", dst, "-m", "32", "-p", proto, "-o", "0.0.0.0", "-n", "0", "-l", lo, "-h", hi}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

func intercepts(t *testing.T, l *lab) []Intercept {
	t.Helper()
	ics, err := Intercepts(l.conn)
	if err != nil {
		t.Fatal(err)
	}
	return ics
}

// TestDiverter drives the diverter the way ziti v1.7.2 does and checks
// the rules it leaves, and that intercepted traffic reaches the router's
// transparent socket only when it comes out of a tunnel.
func TestDiverter(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())

	if out := mustDivert(t, l.box, "-V"); !strings.Contains(out, "tunneler-diverter") {
		t.Errorf("-V printed %q", out)
	}

	tln, _, tport := transparentListen(t, l.box, "tcp")
	_, uconn, uport := transparentListen(t, l.box, "udp")
	accepted := make(chan net.Addr, 4)
	go func() {
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			accepted <- c.LocalAddr()
			c.Close()
		}
	}()

	mustDivert(t, l.box, insertArgs("100.64.0.5", "tcp", "80-80", tport, "svcA")...)
	mustDivert(t, l.box, insertArgs("100.64.0.5", "tcp", "80-80", tport, "svcA")...)
	mustDivert(t, l.box, insertArgs("100.64.0.6", "udp", "5000-5100", uport, "svcB")...)
	if got := intercepts(t, l); len(got) != 2 {
		t.Fatalf("after inserting twice: %d rules, want 2: %+v", len(got), got)
	}

	// The policy route TPROXY needs, once however often it is ensured.
	h := nsNetlink(t, l.box)
	rules, _ := h.RuleList(netlink.FAMILY_V4)
	n := 0
	for _, r := range rules {
		if r.Table == TProxyTable {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d fwmark rules for table %d, want 1", n, TProxyTable)
	}

	before := counter(t, l.conn, "in_ipsec_intercept")
	c, err := tcpDial(t, l.site, "172.16.0.2:0", "100.64.0.5:80", time.Second)
	if err != nil {
		t.Fatalf("intercepted TCP from the tunnel: %v", err)
	}
	c.Close()
	select {
	case a := <-accepted:
		if a.String() != "100.64.0.5:80" {
			t.Errorf("router saw local address %v, want the original 100.64.0.5:80", a)
		}
	case <-time.After(time.Second):
		t.Fatal("router's listener accepted nothing")
	}
	if counter(t, l.conn, "in_ipsec_intercept") <= before {
		t.Errorf("in_ipsec_intercept did not rise")
	}
	if cs, _ := Counters(l.conn); cs["intercept tcp 100.64.0.5/32 from 0.0.0.0/0 ports 80-80"].Packets == 0 {
		t.Errorf("intercept's own counter did not rise: %v", cs)
	}

	// UDP, to a port inside the range.
	sendUDP(t, l.site, "100.64.0.6:5050")
	uconn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 16)
	if _, _, err := uconn.ReadFrom(buf); err != nil {
		t.Errorf("intercepted UDP from the tunnel: %v", err)
	}

	// Not from a tunnel: the WAN and the LAN get nothing.
	for _, from := range []struct {
		ns  *testenv.Netns
		src string
	}{{l.wan, "192.0.2.2:0"}, {l.lan, "10.9.0.2:0"}} {
		if c, err := tcpDial(t, from.ns, from.src, "100.64.0.5:80", 400*time.Millisecond); err == nil {
			c.Close()
			t.Errorf("intercept reachable from %s", from.ns.Name)
		}
	}

	// A full replace keeps the intercepts, and they keep working.
	mustApply(t, l.conn, l.spec())
	if got := intercepts(t, l); len(got) != 2 {
		t.Fatalf("after Apply: %d intercepts, want 2", len(got))
	}
	if c, err := tcpDial(t, l.site, "172.16.0.2:0", "100.64.0.5:80", time.Second); err != nil {
		t.Errorf("intercept after Apply: %v", err)
	} else {
		c.Close()
	}

	// Same tuple, new port: one rule, the new port.
	mustDivert(t, l.box, insertArgs("100.64.0.5", "tcp", "80-80", tport+1, "svcA")...)
	got := intercepts(t, l)
	if len(got) != 2 || got[0].TProxyPort != tport+1 && got[1].TProxyPort != tport+1 {
		t.Errorf("after re-insert with a new port: %+v", got)
	}

	// Delete, delete again (no error), flush.
	mustDivert(t, l.box, deleteArgs("100.64.0.5", "tcp", "80-80")...)
	mustDivert(t, l.box, deleteArgs("100.64.0.5", "tcp", "80-80")...)
	if got := intercepts(t, l); len(got) != 1 || got[0].Proto != "udp" {
		t.Errorf("after delete: %+v, want the udp one", got)
	}
	mustDivert(t, l.box, insertArgs("100.64.0.7", "tcp", "443-443", tport, "svcC")...)
	mustDivert(t, l.box, "-F")
	if got := intercepts(t, l); len(got) != 0 {
		t.Errorf("after flush: %+v", got)
	}
	if err := FlushIntercepts(l.conn); err != nil {
		t.Errorf("flush of nothing: %v", err)
	}
	// Bad calls fail with a message, and change nothing.
	if out, code := divert(t, l.box, "-I", "-c", "100.64.0.5", "-m", "32", "-p", "icmp", "-l", "1", "-h", "1", "-t", "9", "-s", "x"); code == 0 {
		t.Errorf("icmp intercept accepted: %s", out)
	}
}

func sendUDP(t *testing.T, ns *testenv.Netns, dst string) {
	t.Helper()
	in(t, ns, func() error {
		c, err := net.Dial("udp", dst)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("hi"))
		return err
	})
}

// TestMSSClamp: SYNs from a route-based tunnel are clamped to its MTU,
// SYNs the box sends into it to the route's MTU.
func TestMSSClamp(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec()) // xf0 MTU 1300: MSS 1260
	var ln net.Listener
	in(t, l.box, func() (err error) { ln, err = net.Listen("tcp", "100.64.0.1:53"); return err })
	defer ln.Close()
	mss := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			mss <- -1
			return
		}
		defer c.Close()
		mss <- tcpMaxSeg(c)
	}()
	before := counter(t, l.conn, "mss_clamp_in")
	c, err := tcpDial(t, l.site, "172.16.0.2:0", "100.64.0.1:53", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := <-mss; got <= 0 || got > 1260 {
		t.Errorf("MSS of a connection from the tunnel = %d, want <= 1260", got)
	}
	if counter(t, l.conn, "mss_clamp_in") <= before {
		t.Errorf("mss_clamp_in did not rise")
	}

	// Out through the "xfrm interface": the router dialling a host behind
	// the remote site.
	l.box.Run(t, "ip", "route", "replace", "172.16.0.0/24", "dev", "xf0", "mtu", "1200")
	tcpListen(t, l.site, "172.16.0.2:8080")
	before = counter(t, l.conn, "mss_clamp_out")
	c2, err := tcpDial(t, l.box, "", "172.16.0.2:8080", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	if counter(t, l.conn, "mss_clamp_out") <= before {
		t.Errorf("mss_clamp_out did not rise")
	}
}
