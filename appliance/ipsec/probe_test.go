package ipsec

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/scripts/testenv"
)

func TestProbeSets(t *testing.T) {
	sets := ProbeSets()
	seen := map[string]bool{}
	var legacy, presets int
	for _, s := range sets {
		if seen[s.Proposal] {
			t.Errorf("%s listed twice", s.Proposal)
		}
		seen[s.Proposal] = true
		if s.Legacy {
			legacy++
		}
		if len(s.Presets) > 0 {
			presets++
		}
	}
	if len(sets) < 8 || len(sets) > MaxProbeSets || legacy < 4 || presets < 5 {
		t.Errorf("%d sets (%d legacy, %d of presets): %+v", len(sets), legacy, presets, sets)
	}
	if !seen["aes128-sha1-modp1024"] || !seen["aes256-sha256-modp2048"] {
		t.Errorf("AWS's legacy set or the common CBC set missing")
	}
}

func TestProbeOutcome(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"initiating IKE_SA probe-3[4] to 192.0.2.2", "selected proposal: IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024", "no shared key found for 'probe.tunneler.invalid' - '%any'"}, ProbeAccepted},
		{[]string{"received NO_PROPOSAL_CHOSEN notify error"}, ProbeRefused},
		{[]string{"received NO_PROPOSAL_CHOSEN error notify"}, ProbeRefused},
		{[]string{"sending retransmit 1 of request message ID 0, seq 1"}, ProbeNoAnswer},
		{nil, ProbeNoAnswer},
	} {
		if got, _ := probeOutcome(tc.lines); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.lines, got, tc.want)
		}
	}
}

// lab is the box's charon and a remote device's, in two namespaces.
type lab struct {
	tun                        config.Tunnel // the box's tunnel to the device
	boxSock, peerSock, peerLog string
	peer                       *charon
	peerConf                   string
}

// probeLab is a lab whose device accepts the IKE proposal only.
func probeLab(tb testing.TB, only string, version int) (tun config.Tunnel, sock, peerLog string) {
	l := newLab(tb, only, "aes256gcm16", version)
	return l.tun, l.boxSock, l.peerLog
}

// newLab starts both charons; the device's admin configured ike and esp.
func newLab(tb testing.TB, ike, esp string, version int) lab {
	testenv.RequireRoot(tb)
	testenv.RequireCommand(tb, "ip", "unshare", "swanctl", CharonPath)
	if _, err := os.Stat("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"); err != nil {
		testenv.Skip(tb, "needs kernel-libipsec (libcharon-extra-plugins): this kernel has no ESP")
	}
	dir, err := os.MkdirTemp("/tmp", "ipsec-probe-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	boxSock, peerSock := filepath.Join(dir, "box.vici"), filepath.Join(dir, "peer.vici")
	boxLog, peerLog := filepath.Join(dir, "box.log"), filepath.Join(dir, "peer.log")
	if t, ok := tb.(*testing.T); ok {
		t.Cleanup(func() { dumpLogs(t, boxLog, peerLog) })
	}
	box := testenv.NewNetns(tb, "prbox")
	peer := testenv.NewNetns(tb, "prpeer")
	wan, site := vethNames("p")
	testenv.Veth(tb, box, wan, peer, site)
	box.Run(tb, "ip", "addr", "add", "192.0.2.1/24", "dev", wan)
	peer.Run(tb, "ip", "addr", "add", "192.0.2.2/24", "dev", site)

	boxConf, pConf := filepath.Join(dir, "box.conf"), filepath.Join(dir, "peer.conf")
	if err := os.WriteFile(boxConf, RenderConf(ConfOptions{Socket: boxSock, KernelLibipsec: true}), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(pConf, []byte(peerConf(peerSock)), 0o644); err != nil {
		tb.Fatal(err)
	}
	swan := filepath.Join(dir, "swanctl.conf")
	if err := os.WriteFile(swan, []byte(peerSwanctl("a-long-and-random-pre-shared-key", ike, esp, version)), 0o600); err != nil {
		tb.Fatal(err)
	}
	pc := startCharon(tb, peer, pConf, peerLog)
	waitSocket(tb, peerSock)
	pc.swanctl(tb, peerSock, swan)
	startCharon(tb, box, boxConf, boxLog)
	waitSocket(tb, boxSock)

	v := config.IKEv2
	if version == 1 {
		v = config.IKEv1
	}
	tun := config.Config{Tunnels: []config.Tunnel{{
		Name: "site-a", PeerAddress: "192.0.2.2",
		IKESettings:    config.IKESettings{LocalID: "192.0.2.1", PSK: config.NewSecret("a-long-and-random-pre-shared-key"), IKEVersion: v},
		RemoteNetworks: []config.Prefix{config.MustPrefix("10.9.0.0/24")},
	}}}.WithDefaults().Tunnels[0]
	return lab{tun: tun, boxSock: boxSock, peerSock: peerSock, peerLog: peerLog, peer: pc, peerConf: pConf}
}

// A remote device that accepts one set of the many tried: the probe finds
// that one, no other, and never tries faster than once a second.
func TestKernelProbe(t *testing.T) {
	for _, tc := range []struct {
		version int
		only    string
	}{
		{2, "aes256-sha1-modp1024"},   // Azure's default: legacy, no preset
		{2, "aes256-sha384-ecp384"},   // the paloalto preset's second set
		{1, "aes128-sha256-modp2048"}, // AWS over IKEv1 Main Mode
	} {
		t.Run(fmt.Sprintf("ikev%d-%s", tc.version, tc.only), func(t *testing.T) {
			tun, sock, peerLog := probeLab(t, tc.only, tc.version)
			var progress []string
			t0 := time.Now()
			res, err := Probe(context.Background(), tun, ProbeOptions{Socket: sock, TryTimeout: 4 * time.Second,
				Progress: func(done, total int, r ProbeResult) {
					progress = append(progress, fmt.Sprintf("%d/%d %s %s", done, total, r.Set.Proposal, r.Outcome))
				}})
			took := time.Since(t0)
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			t.Logf("probe took %v:\n%s", took.Round(time.Millisecond), strings.Join(progress, "\n"))
			if len(res) < 8 || len(progress) != len(res) {
				t.Fatalf("%d results, %d progress reports; want at least 8 each", len(res), len(progress))
			}
			if min := time.Duration(len(res)-1) * time.Second; took < min {
				t.Errorf("%d tries in %v: faster than one a second", len(res), took)
			}
			// Stopped before authentication: the device never saw an
			// IKE_AUTH (IKEv2) or Main Mode's ID and HASH (IKEv1).
			plog, _ := os.ReadFile(peerLog)
			for _, never := range []string{"IKE_AUTH request", "[ ID HASH", "authentication of"} {
				if strings.Contains(string(plog), never) {
					t.Errorf("the device's log has %q: the probe went past IKE_SA_INIT", never)
				}
			}
			if !strings.Contains(string(plog), "is initiating") {
				t.Errorf("the device's log shows no IKE_SA_INIT from the probe")
			}
			for _, r := range res {
				want := ProbeRefused
				if r.Set.Proposal == tc.only {
					want = ProbeAccepted
				}
				if r.Outcome != want {
					t.Errorf("%s: %s (%s), want %s", r.Set.Proposal, r.Outcome, r.Detail, want)
				}
			}
		})
	}
}

// BenchmarkProbe: time to try every set against a device that accepts one.
func BenchmarkProbe(b *testing.B) {
	tun, sock, _ := probeLab(b, "aes256-sha1-modp1024", 2)
	var total time.Duration
	sets := 0
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res, err := Probe(context.Background(), tun, ProbeOptions{Socket: sock})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		sets = len(res)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "probe-s/op")
	b.ReportMetric(float64(sets), "sets")
}

// The wrong-side blame of issue 16 against real charons: an IKEv1 device
// offers only SHA-1 ESP to a box that responds. The client, fed by the
// box charon's VICI log events, says this box refused, with both lists.
func TestKernelExplainResponder(t *testing.T) {
	l := newLab(t, "aes256-sha256-modp2048", "aes128-sha1-modp2048", 1)
	tun := l.tun
	tun.Initiation = config.Responder
	client := NewClient(Options{Socket: l.boxSock, RefreshInterval: time.Second, CharonPolicies: true})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { client.Run(ctx); close(runDone) }()
	t.Cleanup(func() { cancel(); <-runDone })
	if err := client.Apply([]config.Tunnel{tun}); err != nil {
		t.Fatal(err)
	}
	// The device initiates once the box has loaded the tunnel.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, _ := exec.Command("swanctl", "--list-conns", "--uri", "unix://"+l.boxSock).CombinedOutput()
		if strings.Contains(string(out), "site-a") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the box never loaded site-a:\n%s", out)
		}
	}
	cmd := exec.Command("ip", "netns", "exec", l.peer.ns.Name, "swanctl", "--initiate", "--child", "tunneler", "--timeout", "10", "--uri", "unix://"+l.peerSock)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+l.peerConf)
	out, _ := cmd.CombinedOutput() // fails by design
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	st, err := client.WaitFor(wctx, "site-a", func(s TunnelStatus) bool { return s.Explained != nil })
	if err != nil {
		t.Fatalf("no explanation: %v\ndevice: %s", err, out)
	}
	e := st.Explained
	t.Logf("reason: %s", st.Reason)
	if e.Kind != "esp-proposals" || e.Side != "ours" || len(e.Offered) == 0 || !strings.Contains(e.Offered[0], "HMAC_SHA1_96") || len(e.Accepted) != 4 || e.Preset != config.LegacyPreset {
		t.Errorf("explained %+v", e)
	}
	if !strings.Contains(st.Reason, "this box accepts none of the remote device's") {
		t.Errorf("reason %q", st.Reason)
	}
	if len(st.VendorIDs) == 0 {
		t.Errorf("no vendor IDs from an IKEv1 strongSwan device")
	}
}
