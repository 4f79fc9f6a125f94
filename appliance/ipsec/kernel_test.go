package ipsec

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/scripts/testenv"
)

// charon is one charon process in its own network namespace and its own
// mount namespace with a private /run (its pid file is fixed at
// /var/run/charon.pid, so two charons on one host cannot share /run).
type charon struct {
	t    testing.TB
	ns   *testenv.Netns
	conf string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startCharon(t testing.TB, ns *testenv.Netns, conf, log string) *charon {
	t.Helper()
	c := &charon{t: t, ns: ns, conf: conf, log: log}
	c.start()
	t.Cleanup(c.stop)
	return c
}

func (c *charon) start() {
	c.t.Helper()
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	// ip netns exec -> unshare -m -> sh -> charon all exec, so the pid we
	// hold is charon's own in the end.
	c.cmd = c.ns.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		"mount -t tmpfs tmpfs /run && exec "+CharonPath)
	c.cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+c.conf)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("start charon in %s: %v", c.ns.Name, err)
	}
	f.Close()
	c.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(c.cmd, c.done)
}

func (c *charon) kill(sig syscall.Signal) {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	c.cmd = nil
}

func (c *charon) stop() { c.kill(syscall.SIGTERM) }

func waitSocket(t testing.TB, path string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no vici socket at %s", path)
}

// peerConf is strongswan.conf of the remote site: stock strongSwan on a
// host without ESP, so kernel-libipsec before kernel-netlink.
func peerConf(socket string) string {
	return fmt.Sprintf(`charon {
	load = random nonce openssl kdf pem pkcs1 x509 kernel-libipsec kernel-netlink socket-default vici updown
	plugins {
		vici {
			socket = unix://%s
		}
	}
	filelog {
		stderr {
			default = 1
		}
	}
}
`, socket)
}

// peerSwanctl is what a remote site's admin writes for the box.
func peerSwanctl(psk, ikeProposal, espProposal string, version int) string {
	return fmt.Sprintf(`connections {
	tunneler {
		version = %d
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = %s
		local {
			auth = psk
			id = 192.0.2.2
		}
		remote {
			auth = psk
			id = 192.0.2.1
		}
		children {
			tunneler {
				local_ts = 10.9.0.0/24
				remote_ts = 100.64.0.0/10
				esp_proposals = %s
			}
		}
	}
}
secrets {
	ike-tunneler {
		id-box = 192.0.2.1
		id-me = 192.0.2.2
		secret = "%s"
	}
}
`, version, ikeProposal, espProposal, psk)
}

func (c *charon) swanctl(t testing.TB, socket, file string) {
	t.Helper()
	cmd := c.ns.Command("swanctl", "--load-all", "--noprompt", "--clear", "--file", file, "--uri", "unix://"+socket)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+c.conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("swanctl --load-all: %v\n%s", err, out)
	}
}

func dumpLogs(t *testing.T, files ...string) {
	if !t.Failed() {
		return
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if len(b) > 20000 {
			b = b[len(b)-20000:]
		}
		t.Logf("---- %s ----\n%s", f, b)
	}
}

// TestKernelIKE runs the box's charon, driven by this package, against a
// stock strongSwan peer configured with swanctl, between two namespaces.
func TestKernelIKE(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "unshare", "swanctl", "ping", CharonPath)
	if _, err := os.Stat("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"); err != nil {
		testenv.Skip(t, "needs kernel-libipsec (libcharon-extra-plugins): this kernel has no ESP")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		testenv.Skip(t, "kernel-libipsec needs /dev/net/tun")
	}

	dir, err := os.MkdirTemp("/tmp", "ipsec-ike-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	boxSock, peerSock := filepath.Join(dir, "box.vici"), filepath.Join(dir, "peer.vici")
	boxLog, peerLog := filepath.Join(dir, "box.log"), filepath.Join(dir, "peer.log")
	t.Cleanup(func() { dumpLogs(t, boxLog, peerLog) })

	box := testenv.NewNetns(t, "ikebox")
	peer := testenv.NewNetns(t, "ikepeer")
	wan, site := vethNames("i")
	testenv.Veth(t, box, wan, peer, site)
	box.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", wan)
	box.Run(t, "ip", "addr", "add", "100.64.0.1/32", "dev", "lo")
	peer.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", site)
	peer.Run(t, "ip", "addr", "add", "10.9.0.1/32", "dev", "lo")

	boxConf := filepath.Join(dir, "box.conf")
	if err := os.WriteFile(boxConf, RenderConf(ConfOptions{Socket: boxSock, KernelLibipsec: true}), 0o644); err != nil {
		t.Fatal(err)
	}
	pConf := filepath.Join(dir, "peer.conf")
	if err := os.WriteFile(pConf, []byte(peerConf(peerSock)), 0o644); err != nil {
		t.Fatal(err)
	}
	peerSwan := filepath.Join(dir, "swanctl.conf")
	writePeerV := func(psk, prop, esp string, version int) {
		if err := os.WriteFile(peerSwan, []byte(peerSwanctl(psk, prop, esp, version)), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	writePeer := func(psk, prop string) { writePeerV(psk, prop, "aes256gcm16-ecp384", 2) }

	const psk = "correct-horse-battery-staple-42"
	pc := startCharon(t, peer, pConf, peerLog)
	waitSocket(t, peerSock)
	writePeer(psk, "aes256gcm16-prfsha384-ecp384")
	pc.swanctl(t, peerSock, peerSwan)

	bc := startCharon(t, box, boxConf, boxLog)
	waitSocket(t, boxSock)

	cfg := config.Config{Tunnels: []config.Tunnel{{
		Name:        "site-a",
		PeerAddress: "192.0.2.2",
		IKESettings: config.IKESettings{
			LocalID: "192.0.2.1",
			PSK:     config.NewSecret(psk),
		},
		RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.9.0.0/24"))},
	}}}.WithDefaults()

	var logMu sync.Mutex
	var logs []string
	client := NewClient(Options{
		Socket: boxSock, RefreshInterval: time.Second,
		// kernel-libipsec keeps policies in userspace, out of package
		// xfrm's reach; on the box (kernel ESP) charon has policies = no.
		CharonPolicies: true,
		Logf: func(f string, a ...any) {
			logMu.Lock()
			logs = append(logs, fmt.Sprintf(f, a...))
			logMu.Unlock()
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { client.Run(ctx); close(runDone) }()
	t.Cleanup(func() { cancel(); <-runDone })

	if st, _ := client.Tunnel("site-a"); st.Name != "" {
		t.Fatalf("status before Apply: %+v", st)
	}
	if err := client.Apply(cfg.Tunnels); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if st, _ := client.Tunnel("site-a"); st.Colour != Gray {
		t.Errorf("before the first connection the colour is %s, want gray", st.Colour)
	}

	wait := func(what string, d time.Duration, cond func(TunnelStatus) bool) TunnelStatus {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		st, err := client.WaitFor(ctx, "site-a", cond)
		if err != nil {
			t.Fatalf("waiting for %s: %v\nstatus: %+v", what, err, st)
		}
		return st
	}

	// 1. Up: IKE_SA and CHILD_SA, from events and list-sas.
	t0 := time.Now()
	st := wait("tunnel up", 30*time.Second, func(s TunnelStatus) bool { return s.Colour == Green })
	t.Logf("tunnel up in %v", time.Since(t0).Round(time.Millisecond))
	if err := client.Refresh(); err != nil {
		t.Fatalf("list-sas: %v", err)
	}
	st, _ = client.Tunnel("site-a")
	reqid, _ := client.ReqID("site-a")
	if st.IKEState != "ESTABLISHED" || st.Established.IsZero() || st.IKEVersion != 2 {
		t.Errorf("IKE: state %q established %v version %d", st.IKEState, st.Established, st.IKEVersion)
	}
	if st.IKEAlgorithms.Encryption != "AES_GCM_16-256" || st.IKEAlgorithms.DHGroup != "ECP_384" {
		t.Errorf("IKE algorithms %+v, want AES_GCM_16-256 with ECP_384", st.IKEAlgorithms)
	}
	if len(st.Children) != 1 {
		t.Fatalf("children: %+v", st.Children)
	}
	ch := st.Children[0]
	if ch.ReqID != reqid || ch.State != "INSTALLED" || ch.SPIIn == "" || ch.SPIOut == "" ||
		strings.Join(ch.LocalTS, ",") != "100.64.0.0/10" || strings.Join(ch.RemoteTS, ",") != "10.9.0.0/24" {
		t.Errorf("child SA: %+v (want reqid %d)", ch, reqid)
	}
	if !st.Encap {
		t.Errorf("kernel-libipsec always encapsulates ESP in UDP; status says no encap")
	}
	t.Logf("status: %s %s ike=%s child=%s reqid=%d spi in/out %s/%s", st.Colour, st.IKEState, st.IKEAlgorithms, ch.Algorithms, ch.ReqID, ch.SPIIn, ch.SPIOut)

	// Ping through kernel-libipsec's tun device. The box does not install
	// routes (install_routes = no), so route by hand as package xfrm
	// would: toward the tunnel, from the inside address.
	box.Run(t, "ip", "route", "add", "10.9.0.0/24", "dev", "ipsec0", "src", "100.64.0.1")
	if out, err := box.Command("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.9.0.1").CombinedOutput(); err != nil {
		t.Errorf("ping through the tunnel: %v\n%s", err, out)
	} else {
		client.Refresh()
		st, _ = client.Tunnel("site-a")
		if c := st.Children[0]; c.PacketsOut < 3 || c.PacketsIn < 3 {
			t.Errorf("counters after 3 pings: in %d out %d packets", c.PacketsIn, c.PacketsOut)
		}
	}

	// 2. Rekey the CHILD_SA and the IKE_SA on demand.
	if err := client.Rekey("site-a", false, false); err != nil {
		t.Errorf("rekey child: %v", err)
	}
	if err := client.Rekey("site-a", true, false); err != nil {
		t.Errorf("rekey ike: %v", err)
	}
	waitRekeys := time.Now().Add(10 * time.Second)
	for time.Now().Before(waitRekeys) {
		if r := client.RekeyCounts("site-a"); r.Child >= 1 && r.IKE >= 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := client.RekeyCounts("site-a"); r.Child < 1 || r.IKE < 1 {
		t.Errorf("rekey events seen: %+v", r)
	}
	wait("up after rekeys", 10*time.Second, func(s TunnelStatus) bool { return s.Colour == Green })

	// 3. charon killed: the client reconnects to the new one, reloads and
	// the tunnel comes back.
	bc.kill(syscall.SIGKILL)
	wait("orange after SIGKILL", 10*time.Second, func(s TunnelStatus) bool { return s.Colour == Orange })
	t1 := time.Now()
	bc.start()
	st = wait("up after charon restart", 30*time.Second, func(s TunnelStatus) bool { return s.Colour == Green })
	t.Logf("tunnel up %v after charon restarted", time.Since(t1).Round(time.Millisecond))

	// 3b. A changed tunnel is reloaded and comes back with the new
	// settings: IKEv1 (main mode) with CBC/SHA-256/MODP-2048, then IKEv2
	// again with the peer choosing X25519, both from the box's plugin list.
	// In Quick Mode charon offers PFS with the IKE_SA's group only, so
	// the peer's admin lists a MODP-2048 ESP proposal too.
	writePeerV(psk, "aes256-sha256-modp2048", "aes256-sha256-modp2048", 1)
	pc.swanctl(t, peerSock, peerSwan)
	v1 := cfg
	v1.Tunnels = []config.Tunnel{cfg.Tunnels[0]}
	v1.Tunnels[0].IKEVersion, v1.Tunnels[0].IKEProposals, v1.Tunnels[0].MOBIKE = config.IKEv1, nil, nil
	v1 = v1.WithDefaults()
	if err := client.Apply(v1.Tunnels); err != nil {
		t.Fatalf("apply IKEv1: %v", err)
	}
	st = wait("up over IKEv1", 30*time.Second, func(s TunnelStatus) bool { return s.Colour == Green && s.IKEVersion == 1 })
	t.Logf("IKEv1: %s %s", st.IKEState, st.IKEAlgorithms)
	if st.IKEAlgorithms.DHGroup != "MODP_2048" {
		t.Errorf("IKEv1 DH group %s, want MODP_2048", st.IKEAlgorithms.DHGroup)
	}
	writePeer(psk, "aes256gcm16-prfsha256-x25519")
	pc.swanctl(t, peerSock, peerSwan)
	if err := client.Apply(cfg.Tunnels); err != nil {
		t.Fatalf("apply IKEv2: %v", err)
	}
	st = wait("up over IKEv2 with x25519", 30*time.Second, func(s TunnelStatus) bool {
		return s.Colour == Green && s.IKEVersion == 2 && s.IKEAlgorithms.DHGroup == "CURVE_25519"
	})

	// 4. Wrong PSK on the peer: a plain-words reason, not "down".
	writePeer("not-the-right-key-at-all-99", "aes256gcm16-prfsha384-ecp384")
	pc.swanctl(t, peerSock, peerSwan)
	if err := client.Reconnect("site-a"); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	st = wait("authentication failure reason", 30*time.Second, func(s TunnelStatus) bool {
		return s.Colour != Green && strings.Contains(s.Reason, "authentication failed")
	})
	if st.Colour != Orange {
		t.Errorf("colour after a drop: %s, want orange", st.Colour)
	}
	t.Logf("wrong PSK: %s: %s", st.Colour, st.Reason)

	// 5. Mismatched proposals.
	writePeer(psk, "aes128-sha256-modp3072")
	pc.swanctl(t, peerSock, peerSwan)
	if err := client.Reconnect("site-a"); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	st = wait("proposal mismatch reason", 30*time.Second, func(s TunnelStatus) bool {
		return strings.Contains(s.Reason, "proposals do not match")
	})
	t.Logf("mismatched proposals: %s: %s", st.Colour, st.Reason)

	// 6. Peer unreachable: the box's retransmits time out.
	writePeer(psk, "aes256gcm16-prfsha384-ecp384")
	pc.swanctl(t, peerSock, peerSwan)
	pc.stop()
	if err := client.Reconnect("site-a"); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	giveUp := ConfOptions{}.GiveUpAfter()
	st = wait("unreachable reason", giveUp+15*time.Second, func(s TunnelStatus) bool {
		return strings.Contains(s.Reason, "does not answer")
	})
	t.Logf("peer unreachable: %s: %s", st.Colour, st.Reason)

	// 7. Deleting the tunnel unloads it from charon.
	if err := client.Apply(nil); err != nil {
		t.Fatalf("apply without tunnels: %v", err)
	}
	out, err := box.Command("swanctl", "--list-conns", "--uri", "unix://"+boxSock).CombinedOutput()
	if err != nil || strings.Contains(string(out), "site-a") {
		t.Errorf("after delete, charon still lists the tunnel (%v):\n%s", err, out)
	}
	logMu.Lock()
	t.Logf("client log:\n%s", strings.Join(logs, "\n"))
	logMu.Unlock()
}

// vethNames are unique per test process: veths are made in the host's
// namespace before they move, and other packages' tests run in parallel.
func vethNames(prefix string) (wan, site string) {
	n := os.Getpid() % 1000000
	return fmt.Sprintf("%sw%d", prefix, n), fmt.Sprintf("%ss%d", prefix, n)
}
