package firewall

import (
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// TestInputRules sends each kind of packet the input chain decides on and
// checks both the outcome and the counter that must rise.
func TestInputRules(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())

	type probe func(t *testing.T) bool
	udp := func(from *testenv.Netns, src, dst string) probe {
		return func(t *testing.T) bool { return udpPasses(t, l, from, src, dst) }
	}
	tcp := func(from *testenv.Netns, src, dst string) probe {
		return func(t *testing.T) bool { return tcpPasses(t, l, from, src, dst) }
	}
	ping := func(from *testenv.Netns, args ...string) probe {
		return func(t *testing.T) bool { return pingPasses(t, from, args...) }
	}
	for _, tc := range []struct {
		name    string
		probe   probe
		pass    bool
		counter string
	}{
		{"IKE 500 from peer", udp(l.wan, "192.0.2.2:500", "192.0.2.1:500"), true, "in_ike"},
		{"NAT-T 4500 from peer", udp(l.wan, "192.0.2.2:4500", "192.0.2.1:4500"), true, "in_ike"},
		{"IKE 500 from non-peer", udp(l.wan, "192.0.2.3:500", "192.0.2.1:500"), false, "in_drop"},
		{"other UDP from peer", udp(l.wan, "192.0.2.2:5000", "192.0.2.1:5000"), false, "in_drop"},
		{"web UI from WAN peer", tcp(l.wan, "192.0.2.2:0", "192.0.2.1:80"), false, "in_drop"},
		{"web UI from WAN non-peer", tcp(l.wan, "192.0.2.3:0", "192.0.2.1:443"), false, "in_drop"},
		{"web UI from LAN", tcp(l.lan, "10.9.0.2:0", "10.9.0.1:80"), true, "in_mgmt"},
		{"web UI 443 from LAN", tcp(l.lan, "10.9.0.2:0", "10.9.0.1:443"), true, "in_mgmt"},
		{"ssh from LAN", tcp(l.lan, "10.9.0.2:0", "10.9.0.1:22"), false, "in_drop"},
		{"ping from LAN", ping(l.lan, "10.9.0.1"), true, "in_lan_ping"},
		{"ping from WAN peer", ping(l.wan, "-I", "192.0.2.2", "192.0.2.1"), false, "in_drop"},
		{"DHCP reply on LAN", udp(l.lan, "10.9.0.2:67", "10.9.0.1:68"), true, "in_dhcp"},
		{"DHCP reply on WAN", udp(l.wan, "192.0.2.3:67", "192.0.2.1:68"), true, "in_dhcp"},
		{"unasked 'NTP reply' from WAN", udp(l.wan, "192.0.2.3:123", "192.0.2.1:40123"), false, "in_drop"},
		{"DNS from tunnel to inside address", udp(l.site, "172.16.0.2:0", "100.64.0.1:53"), true, "in_ipsec_dns"},
		{"DNS over TCP from tunnel", tcp(l.site, "172.16.0.2:0", "100.64.0.1:53"), true, "in_ipsec_dns"},
		{"ping inside address from tunnel", ping(l.site, "100.64.0.1"), true, "in_ipsec_ping"},
		{"web UI from tunnel (inside address)", tcp(l.site, "172.16.0.2:0", "100.64.0.1:80"), false, "in_ipsec_drop"},
		{"web UI from tunnel (xfrm address)", tcp(l.site, "172.16.0.2:0", "172.16.0.1:443"), false, "in_ipsec_drop"},
		{"DNS from tunnel to WAN address", udp(l.site, "172.16.0.2:0", "192.0.2.1:53"), false, "in_ipsec_drop"},
		{"IKE from tunnel", udp(l.site, "172.16.0.2:500", "172.16.0.1:500"), false, "in_ipsec_drop"},
		{"DNS from LAN to inside address", udp(l.lan, "10.9.0.2:0", "100.64.0.1:53"), false, "in_drop"},
		{"DNS from WAN to inside address", udp(l.wan, "192.0.2.2:0", "100.64.0.1:53"), false, "in_drop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := counter(t, l.conn, tc.counter)
			if got := tc.probe(t); got != tc.pass {
				t.Errorf("passed = %v, want %v", got, tc.pass)
			}
			if after := counter(t, l.conn, tc.counter); after <= before {
				t.Errorf("counter %s did not rise (%d -> %d)", tc.counter, before, after)
			}
		})
	}
}

// TestNTPReplyByConntrack: the box's own query opens the way for exactly
// its reply; the same datagram unasked is dropped (see TestInputRules).
func TestNTPReplyByConntrack(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())
	srv := udpListen(t, l.wan, "192.0.2.3:123")
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			srv.WriteToUDP(buf[:n], from)
		}
	}()
	var c *net.UDPConn
	in(t, l.box, func() (err error) {
		c, err = net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 3), Port: 123})
		return err
	})
	defer c.Close()
	before := counter(t, l.conn, "in_established")
	c.Write([]byte("ntp?"))
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64)
	if _, err := c.Read(buf); err != nil {
		t.Fatalf("reply to the box's own NTP query: %v", err)
	}
	if counter(t, l.conn, "in_established") <= before {
		t.Errorf("reply was not accepted as established")
	}
}

// TestSingleNIC: with one interface for both sides, management answers
// only allowed sources, and never a peer even inside them.
func TestSingleNIC(t *testing.T) {
	l := newLab(t)
	spec := l.spec()
	spec.SingleNIC = true
	spec.WAN = []string{"lan0"}
	spec.LAN = []string{"lan0"}
	spec.Peers = []netip.Addr{addr("10.9.0.3")}
	spec.AllowedMgmtSources = []netip.Prefix{prefix("10.9.0.0/24")}
	mustApply(t, l.conn, spec)
	if !tcpPasses(t, l, l.lan, "10.9.0.2:0", "10.9.0.1:80") {
		t.Errorf("web UI from an allowed source: dropped")
	}
	if tcpPasses(t, l, l.lan, "10.9.0.3:0", "10.9.0.1:80") {
		t.Errorf("web UI from the peer's address: answered")
	}
	if !udpPasses(t, l, l.lan, "10.9.0.3:500", "10.9.0.1:500") {
		t.Errorf("IKE from the peer on the single NIC: dropped")
	}
	spec.AllowedMgmtSources = []netip.Prefix{prefix("10.9.0.128/25")}
	mustApply(t, l.conn, spec)
	before := counter(t, l.conn, "in_drop")
	if tcpPasses(t, l, l.lan, "10.9.0.2:0", "10.9.0.1:80") {
		t.Errorf("web UI from outside the allowed sources: answered")
	}
	if pingPasses(t, l.lan, "-I", "10.9.0.2", "10.9.0.1") {
		t.Errorf("ping from outside the allowed sources: answered")
	}
	if counter(t, l.conn, "in_drop") < before+2 {
		t.Errorf("in_drop did not count the refused management packets")
	}
}

// TestForwardDropped: nothing is routed through the box: not from a tunnel
// to the LAN or the WAN, not between WAN and LAN.
func TestForwardDropped(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())
	for _, tc := range []struct {
		name     string
		from, to *testenv.Netns
		src, dst string
		counter  string
	}{
		{"tunnel to LAN", l.site, l.lan, "172.16.0.2:0", "10.9.0.2:80", "fwd_tunnel"},
		{"tunnel to WAN", l.site, l.wan, "172.16.0.2:0", "192.0.2.2:80", "fwd_tunnel"},
		{"WAN to LAN", l.wan, l.lan, "192.0.2.2:0", "10.9.0.2:80", "fwd_drop"},
		{"LAN to WAN", l.lan, l.wan, "10.9.0.2:0", "192.0.2.3:80", "fwd_drop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tcpListen(t, tc.to, tc.dst)
			before := counter(t, l.conn, tc.counter)
			if c, err := tcpDial(t, tc.from, tc.src, tc.dst, 400*time.Millisecond); err == nil {
				c.Close()
				t.Errorf("connection forwarded")
			}
			if counter(t, l.conn, tc.counter) <= before {
				t.Errorf("counter %s did not rise", tc.counter)
			}
		})
	}
}

// TestDefaultDeny: the boot ruleset lets loopback through and nothing else.
func TestDefaultDeny(t *testing.T) {
	l := newLab(t)
	if err := DefaultDeny(l.conn); err != nil {
		t.Fatal(err)
	}
	if pingPasses(t, l.lan, "10.9.0.1") {
		t.Errorf("ping from LAN passed the default deny")
	}
	if tcpPasses(t, l, l.lan, "10.9.0.2:0", "10.9.0.1:80") {
		t.Errorf("web UI answered under default deny")
	}
	if !pingPasses(t, l.box, "127.0.0.1") {
		t.Errorf("loopback blocked under default deny")
	}
	if counter(t, l.conn, "in_drop") == 0 {
		t.Errorf("in_drop did not count")
	}
}

// TestApplyKeepsOtherTables: our replace never touches another table.
func TestApplyKeepsOtherTables(t *testing.T) {
	testenv.RequireCommand(t, "nft")
	l := newLab(t)
	l.box.Run(t, "nft", "add table inet other; add chain inet other c; add rule inet other c counter")
	mustApply(t, l.conn, l.spec())
	mustApply(t, l.conn, l.spec())
	out := l.box.Run(t, "nft", "list", "table", "inet", "other")
	if !strings.Contains(out, "counter packets") {
		t.Errorf("table inet other changed:\n%s", out)
	}
}

// TestApplyKeepsCounters: counters carry on across a replace.
func TestApplyKeepsCounters(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())
	udpPasses(t, l, l.wan, "192.0.2.2:500", "192.0.2.1:500")
	before := counter(t, l.conn, "in_ike")
	mustApply(t, l.conn, l.spec())
	if after := counter(t, l.conn, "in_ike"); after < before || before == 0 {
		t.Errorf("in_ike %d before replace, %d after", before, after)
	}
}

// TestReplaceKeepsStreams: replacing the ruleset over and over while a TCP
// connection streams loses neither the connection nor a byte.
func TestReplaceKeepsStreams(t *testing.T) {
	l := newLab(t)
	spec := l.spec()
	mustApply(t, l.conn, spec)
	var ln net.Listener
	in(t, l.box, func() (err error) { ln, err = net.Listen("tcp", "10.9.0.1:80"); return err })
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	c, err := tcpDial(t, l.lan, "10.9.0.2:0", "10.9.0.1:80", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	sent := make(chan int64, 1)
	go func() {
		var n int64
		buf := make([]byte, 16<<10)
		for {
			select {
			case <-stop:
				c.Close()
				sent <- n
				return
			default:
			}
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			m, err := c.Write(buf)
			n += int64(m)
			if err != nil {
				c.Close()
				sent <- -n
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		spec.Peers = append(spec.Peers, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		spec.LogDrops = i%2 == 0
		mustApply(t, l.conn, spec)
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	s := <-sent
	r := <-got
	if s <= 0 || r != s {
		t.Fatalf("sent %d bytes (negative: write failed), received %d", s, r)
	}
	t.Logf("streamed %d bytes across 50 replaces", s)
}

// TestFailedReplaceLeavesOldTable: the kernel takes the batch whole or not
// at all, so a ruleset it refuses leaves the previous one working.
func TestFailedReplaceLeavesOldTable(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())
	rs, err := Build(l.spec())
	if err != nil {
		t.Fatal(err)
	}
	rs.rule(chainInput).jump("no_such_chain") // refused at commit
	if err := Install(l.conn, rs); err == nil {
		t.Fatal("Install of a broken ruleset succeeded")
	}
	if !tcpPasses(t, l, l.lan, "10.9.0.2:0", "10.9.0.1:80") {
		t.Errorf("web UI from LAN dropped after a failed replace")
	}
	if udpPasses(t, l, l.wan, "192.0.2.3:500", "192.0.2.1:500") {
		t.Errorf("IKE from a non-peer passed after a failed replace")
	}
}

// TestAbortDropsHalfBatch: a batch abandoned half queued never takes
// effect, on this Flush or a later one.
func TestAbortDropsHalfBatch(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())
	table := ourTable()
	l.conn.DelTable(table) // half a replace...
	abort(l.conn)          // ...abandoned
	if err := l.conn.Flush(); err != nil {
		t.Fatal(err)
	}
	if ok, err := tableExists(l.conn); err != nil || !ok {
		t.Fatalf("table gone after an aborted batch (exists %v, %v)", ok, err)
	}
}

// TestPingFloodIsRateLimited floods echo requests at 500/s, far over the
// default 10/s with a burst of 20, from a tunnel and from LAN. A running
// ping is "established" to conntrack from its second packet on, so a limit
// behind the established rule never bit; now the replies must stay near
// burst + rate × duration and the rest must show in the drop counter.
func TestPingFloodIsRateLimited(t *testing.T) {
	l := newLab(t)
	mustApply(t, l.conn, l.spec())
	for _, tc := range []struct {
		name string
		from *testenv.Netns
		dst  string
		drop string
		// pass counts every answered request; on LAN only a ping's first
		// request reaches in_lan_ping, conntrack accepts the rest.
		pass string
	}{
		{"from a tunnel to the inside address", l.site, "100.64.0.1", "in_ipsec_ping_drop", "in_ipsec_ping"},
		{"from LAN", l.lan, "10.9.0.1", "in_lan_ping_drop", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const count, every = 1000, 2 * time.Millisecond
			var passBefore uint64
			if tc.pass != "" {
				passBefore = counter(t, l.conn, tc.pass)
			}
			dropBefore := counter(t, l.conn, tc.drop)
			answered, elapsed := pingFlood(t, tc.from, tc.dst, count, every)
			// 20 of burst, 10 a second for the whole run, and slack for
			// the bucket's clock.
			most := 20 + int(10*elapsed.Seconds()) + 5
			t.Logf("%d sent in %v, %d answered (at most %d allowed)", count, elapsed.Round(time.Millisecond), answered, most)
			if answered > most {
				t.Errorf("%d of %d echo requests answered in %v, want at most %d", answered, count, elapsed, most)
			}
			if answered < 20 {
				t.Errorf("only %d answered: the burst of 20 should pass", answered)
			}
			if dropped := counter(t, l.conn, tc.drop) - dropBefore; dropped != uint64(count-answered) {
				t.Errorf("counter %s rose by %d, want %d (the unanswered ones)", tc.drop, dropped, count-answered)
			}
			if tc.pass != "" {
				if passed := counter(t, l.conn, tc.pass) - passBefore; passed != uint64(answered) {
					t.Errorf("counter %s rose by %d, want %d (the answered ones)", tc.pass, passed, answered)
				}
			}
		})
	}
}

// pingFlood sends count ICMP echo requests from ns to dst, one every
// every, and counts the replies until a second after the last. ping(8)
// itself slows down when replies go missing, so it cannot flood at a set
// rate.
func pingFlood(t *testing.T, ns *testenv.Netns, dst string, count int, every time.Duration) (answered int, elapsed time.Duration) {
	t.Helper()
	var c *icmp.PacketConn
	in(t, ns, func() (err error) {
		c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	})
	defer c.Close()
	const id = 0x7e57
	got := map[int]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id {
				got[e.Seq] = true
			}
		}
	}()
	to := &net.IPAddr{IP: net.ParseIP(dst)}
	start := time.Now()
	tick := time.NewTicker(every)
	for seq := 0; seq < count; seq++ {
		<-tick.C
		b, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("flood")}}).Marshal(nil)
		if _, err := c.WriteTo(b, to); err != nil {
			t.Fatalf("send echo request %d to %s: %v", seq, dst, err)
		}
	}
	tick.Stop()
	elapsed = time.Since(start)
	c.SetReadDeadline(time.Now().Add(time.Second))
	<-done
	return len(got), elapsed
}
