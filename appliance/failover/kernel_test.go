package failover

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/xfrm"
	"github.com/tunneler/tunneler/scripts/testenv"
)

// TestKernelActivationNeverSendsClear moves a site between two remotes
// many times, as the lead's Activator will (xfrm policies for
// cfg.Expand(active)), while the box sends to the remote network without
// any SA. The remote network listens on the far side: a single datagram
// arriving there would be clear text on the WAN.
func TestKernelActivationNeverSendsClear(t *testing.T) {
	testenv.RequireRoot(t)
	box := testenv.NewNetns(t, "fobox")
	peer := testenv.NewNetns(t, "fopeer")
	testenv.Veth(t, box, "fowan", peer, "fosite")
	box.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "fowan")
	box.Run(t, "ip", "addr", "add", "100.64.0.1/32", "dev", "lo")
	// Two remote VPN devices (two addresses of the peer namespace) serve
	// the same remote network.
	peer.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "fosite")
	peer.Run(t, "ip", "addr", "add", "192.0.2.3/24", "dev", "fosite")
	peer.Run(t, "ip", "addr", "add", "10.9.0.1/32", "dev", "lo")
	peer.Run(t, "ip", "route", "add", "100.64.0.0/10", "via", "192.0.2.1")

	var received atomic.Int64
	var ln net.PacketConn
	if err := peer.Do(func() (err error) { ln, err = net.ListenPacket("udp", "10.9.0.1:9999"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		buf := make([]byte, 100)
		for {
			if _, _, err := ln.ReadFrom(buf); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	// Control: with a plain route and no policy the datagram arrives.
	box.Run(t, "ip", "route", "add", "10.9.0.0/24", "dev", "fowan", "src", "100.64.0.1")
	var conn *net.UDPConn
	if err := box.Do(func() (err error) {
		conn, err = net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("100.64.0.1")}, &net.UDPAddr{IP: net.ParseIP("10.9.0.1"), Port: 9999})
		return
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	conn.Write([]byte("control"))
	deadline := time.Now().Add(2 * time.Second)
	for received.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if received.Load() == 0 {
		t.Fatal("control datagram did not arrive; the setup is broken")
	}
	box.Run(t, "ip", "route", "del", "10.9.0.0/24")
	received.Store(0)

	cfg := config.Config{Version: config.CurrentVersion,
		Profiles: []config.Profile{{Name: "p", IKESettings: config.IKESettings{PSK: config.NewSecret("Zr4_Wq9mXc2Lp7Vt-Kb3Nd8Hj5Fg1Sy6")}}},
		Sites: []config.Site{{Name: "hq", RemoteNetworks: []config.Prefix{config.MustPrefix("10.9.0.0/24")},
			Remotes: []config.Remote{{PeerAddress: "192.0.2.2", Profile: "p"}, {PeerAddress: "192.0.2.3", Profile: "p"}}}},
	}
	h, err := netlink.NewHandleAt(box.Handle())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pol := xfrm.New(h)
	pol.SkipInterfaces = true
	reqids := ipsec.ReqIDs(cfg.AllTunnels())
	active := map[string]int{}
	act := ActivatorFunc(func(site string, remote int) error {
		active[site] = remote
		d, err := xfrm.FromConfig(cfg.Expand(active), reqids, nil)
		if err != nil {
			return err
		}
		_, err = pol.Apply(d)
		return err
	})
	if err := act.Activate("hq", 0); err != nil {
		t.Fatal(err)
	}
	noStates := outNoStates(t, box)

	stop := make(chan struct{})
	sent := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				sent <- n
				return
			default:
			}
			conn.Write([]byte("secret"))
			n++
		}
	}()
	for i := range 200 {
		remote := (i + 1) % 2
		if err := act.Activate("hq", remote); err != nil {
			t.Fatal(err)
		}
		want := []string{"192.0.2.2", "192.0.2.3"}[remote]
		wantReq := reqids[config.RemoteTunnelName("hq", remote)]
		owned, err := pol.Owned()
		if err != nil {
			t.Fatal(err)
		}
		outs := 0
		for _, p := range owned {
			if p.Dst == netip.MustParsePrefix("10.9.0.0/24") && p.Dir == netlink.XFRM_DIR_OUT {
				outs++
				if p.TmplDst.String() != want || p.ReqID != wantReq {
					t.Fatalf("switch %d: out policy %s, want peer %s reqid %d", i, p, want, wantReq)
				}
			}
		}
		if outs != 1 {
			t.Fatalf("switch %d: %d out policies for the remote network, want 1", i, outs)
		}
	}
	close(stop)
	n := <-sent
	time.Sleep(100 * time.Millisecond)
	if got := received.Load(); got != 0 {
		t.Fatalf("%d of %d datagrams reached the remote network in clear while the site moved", got, n)
	}
	dropped := outNoStates(t, box) - noStates
	t.Logf("sent %d datagrams during 200 moves; %d dropped for want of an SA, 0 in clear", n, dropped)
	if dropped == 0 {
		t.Error("no datagram hit the policies; the test proved nothing")
	}
}

func outNoStates(t *testing.T, ns *testenv.Netns) int {
	t.Helper()
	for _, l := range strings.Split(ns.Run(t, "cat", "/proc/net/xfrm_stat"), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "XfrmOutNoStates" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal(errors.New("no XfrmOutNoStates"))
	return 0
}
