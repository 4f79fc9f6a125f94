// Package runnertest runs ipsec.Runner (charon under appliance/supervise
// plus the VICI client) in a network namespace. It is its own test binary
// because a supervise.Reaper waits for every child of the process, which
// would steal the exit statuses exec.Cmd waits for in other tests.
package runnertest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/scripts/testenv"
)

const psk = "runner-test-pre-shared-key-0123"

const peerSwanctl = `connections {
	tunneler {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = aes256gcm16-prfsha384-ecp384
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
				esp_proposals = aes256gcm16-ecp384
			}
		}
	}
}
secrets {
	ike-tunneler {
		id-box = 192.0.2.1
		id-me = 192.0.2.2
		secret = "` + psk + `"
	}
}
`

func peerConf(socket string) string {
	return fmt.Sprintf(`charon {
	load = random nonce openssl kdf kernel-libipsec kernel-netlink socket-default vici
	plugins {
		vici {
			socket = unix://%s
		}
	}
}
`, socket)
}

// inNamespace returns a script that runs charon in netns ns with a
// private /run (charon's pid file is fixed at /var/run/charon.pid).
func inNamespace(t *testing.T, dir, ns string) string {
	p := filepath.Join(dir, "charon-in-"+ns)
	script := fmt.Sprintf("#!/bin/sh\nexec ip netns exec %s unshare --mount --propagation private sh -c 'mount -t tmpfs tmpfs /run && exec %s'\n", ns, ipsec.CharonPath)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunnerSurvivesSIGKILL: charon under the supervisor is killed with
// SIGKILL; the supervisor starts a new one, the client reloads it, and the
// tunnel is up again. This is what `make bench` times in the VM.
func TestRunnerSurvivesSIGKILL(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "unshare", "swanctl", ipsec.CharonPath)
	if _, err := os.Stat("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"); err != nil {
		testenv.Skip(t, "needs kernel-libipsec (libcharon-extra-plugins): this kernel has no ESP")
	}

	// Everything that needs exec.Cmd.Wait happens before the Reaper.
	dir, err := os.MkdirTemp("/tmp", "ipsec-runner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	box := testenv.NewNetns(t, "rbox")
	peer := testenv.NewNetns(t, "rpeer")
	wan, site := vethNames("r")
	testenv.Veth(t, box, wan, peer, site)
	box.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", wan)
	box.Run(t, "ip", "addr", "add", "100.64.0.1/32", "dev", "lo")
	peer.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", site)
	peer.Run(t, "ip", "addr", "add", "10.9.0.1/32", "dev", "lo")
	boxSock, peerSock := filepath.Join(dir, "box.vici"), filepath.Join(dir, "peer.vici")
	pConf, peerSwan := filepath.Join(dir, "peer.conf"), filepath.Join(dir, "swanctl.conf")
	os.WriteFile(pConf, []byte(peerConf(peerSock)), 0o644)
	os.WriteFile(peerSwan, []byte(peerSwanctl), 0o600)
	boxScript, peerScript := inNamespace(t, dir, box.Name), inNamespace(t, dir, peer.Name)

	reaper := supervise.NewReaper(nil)
	sup, err := supervise.New(supervise.Options{Reaper: reaper, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-first: stop services, then the Reaper, then the
	// namespaces go (their cleanups were registered earlier).
	t.Cleanup(func() { reaper.Close() })
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		sup.Close(ctx)
	})

	peerUnit, err := sup.Add(supervise.Service{Name: "peer-charon", Path: peerScript,
		Env: append(os.Environ(), "STRONGSWAN_CONF="+pConf), StopGrace: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ipsec.NewRunner(sup, ipsec.RunnerOptions{
		Conf:       ipsec.ConfOptions{Socket: boxSock, KernelLibipsec: true},
		ConfPath:   filepath.Join(dir, "box", "strongswan.conf"),
		CharonPath: boxScript,
		PidFile:    filepath.Join(dir, "box", "charon.pid"), // the real one is in the private /run
		Client:     ipsec.Options{RefreshInterval: time.Second, CharonPolicies: true, Logf: t.Logf},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := peerUnit.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(peerSock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer charon did not start: %+v %v", peerUnit.Status(), peerUnit.Lines(time.Time{}))
		}
		time.Sleep(50 * time.Millisecond)
	}
	swan := exec.Command("ip", "netns", "exec", peer.Name, "swanctl", "--load-all", "--noprompt", "--file", peerSwan, "--uri", "unix://"+peerSock)
	swan.Env = append(os.Environ(), "STRONGSWAN_CONF="+pConf)
	if out, err := reaper.Run(context.Background(), swan); err != nil {
		t.Fatalf("swanctl: %v\n%s", err, out)
	}

	cfg := config.Config{Tunnels: []config.Tunnel{{
		Name: "site-a", PeerAddress: "192.0.2.2", IKESettings: config.IKESettings{LocalID: "192.0.2.1", PSK: config.NewSecret(psk)},
		RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.9.0.0/24"))},
	}}}.WithDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { r.Client.Run(ctx); close(runDone) }()
	t.Cleanup(func() { cancel(); <-runDone })
	if err := r.Client.Apply(cfg.Tunnels); err != nil {
		t.Fatal(err)
	}
	if err := r.Unit.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitUp := func(what string) ipsec.TunnelStatus {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		st, err := r.Client.WaitUp(wctx, "site-a")
		if err != nil {
			for _, l := range r.Unit.Lines(time.Time{}) {
				t.Log(l.Text)
			}
			t.Fatalf("%s: %v", what, err)
		}
		return st
	}
	st := waitUp("first start")
	t.Logf("tunnel up %v after charon's start", time.Since(start).Round(time.Millisecond))

	for i := 1; i <= 2; i++ {
		pid := r.Unit.Status().Pid
		if pid == 0 {
			t.Fatalf("charon not running: %+v", r.Unit.Status())
		}
		before := st.Established
		killed := time.Now()
		syscall.Kill(pid, syscall.SIGKILL)
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		st, err = r.Client.WaitFor(wctx, "site-a", func(s ipsec.TunnelStatus) bool {
			return s.Colour == ipsec.Green && s.Established.After(before)
		})
		wcancel()
		if err != nil {
			t.Fatalf("after SIGKILL %d: %v; charon %+v", i, err, r.Unit.Status())
		}
		took := time.Since(killed)
		t.Logf("SIGKILL %d: tunnel up again after %v (charon restarts: %d)", i, took.Round(time.Millisecond), r.Unit.Status().Restarts)
		if took > 10*time.Second {
			t.Errorf("tunnel took %v to come back; the bar is 10 s", took)
		}
	}
	if got := r.Unit.Status().Restarts; got < 2 {
		t.Errorf("supervisor restarts: %d, want 2", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "box", "strongswan.conf")); err != nil {
		t.Errorf("Runner did not write strongswan.conf: %v", err)
	}
}

// vethNames are unique per test process: veths are made in the host's
// namespace before they move, and other packages' tests run in parallel.
func vethNames(prefix string) (wan, site string) {
	n := os.Getpid() % 1000000
	return fmt.Sprintf("%sw%d", prefix, n), fmt.Sprintf("%ss%d", prefix, n)
}
