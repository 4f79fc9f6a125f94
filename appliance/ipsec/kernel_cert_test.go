package ipsec

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/certs"
	"github.com/tunneler/tunneler/appliance/certs/certstest"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/scripts/testenv"
)

// peerCertSwanctl is a remote site's swanctl.conf for certificate
// authentication: its certificate and key from files in the swanctl
// directory (x509/peer.pem, private/peer.key), trusting the CA in
// x509ca/ca.pem for the box's certificate.
const peerCertSwanctl = `connections {
	tunneler {
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		local {
			auth = pubkey
			certs = peer.pem
		}
		remote {
			auth = pubkey
			cacerts = ca.pem
		}
		children {
			tunneler {
				local_ts = 10.9.0.0/24
				remote_ts = 100.64.0.0/10
			}
		}
	}
}
`

// TestKernelCertAuth runs the box's charon, driven by this package with
// the certificates config.AllTunnels hands over, against stock strongSwan
// whose certificates come from a CA made here: the tunnel comes up, and an
// expired device certificate and one from an unknown CA each get a plain
// reason.
func TestKernelCertAuth(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "unshare", "swanctl", CharonPath)
	if _, err := os.Stat("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"); err != nil {
		testenv.Skip(t, "needs kernel-libipsec (libcharon-extra-plugins): this kernel has no ESP")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		testenv.Skip(t, "kernel-libipsec needs /dev/net/tun")
	}
	now := time.Now()
	valid := certstest.Around(now, time.Hour, 30*24*time.Hour)
	ca, err := certstest.NewCA("Test CA", valid)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := certstest.NewCA("Stranger CA", valid)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ca.Issue("peer", valid)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca.Issue("old-peer", certstest.Validity{From: now.Add(-48 * time.Hour), To: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := stranger.Issue("foreign-peer", valid)
	if err != nil {
		t.Fatal(err)
	}
	// The box: its key and request made as the web UI makes them, the
	// request signed by the test CA.
	key, err := certs.GenerateKey(rand.Reader, certs.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(rand.Reader, key, certs.Request{CommonName: "tunneler-box", Organization: "Tunneler tests"})
	if err != nil {
		t.Fatal(err)
	}
	boxCert, err := ca.SignCSR(csr, valid)
	if err != nil {
		t.Fatal(err)
	}

	dir, err := os.MkdirTemp("/tmp", "ipsec-cert-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	boxSock, peerSock := filepath.Join(dir, "box.vici"), filepath.Join(dir, "peer.vici")
	boxLog, peerLog := filepath.Join(dir, "box.log"), filepath.Join(dir, "peer.log")
	t.Cleanup(func() { dumpLogs(t, boxLog, peerLog) })
	box := testenv.NewNetns(t, "certbox")
	pns := testenv.NewNetns(t, "certpeer")
	wan, site := vethNames("c")
	testenv.Veth(t, box, wan, pns, site)
	box.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", wan)
	box.Run(t, "ip", "addr", "add", "100.64.0.1/32", "dev", "lo")
	pns.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", site)
	pns.Run(t, "ip", "addr", "add", "10.9.0.1/32", "dev", "lo")

	write := func(name string, b []byte) {
		t.Helper()
		p := filepath.Join(dir, "swanctl", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	peerAs := func(l *certstest.Leaf) {
		t.Helper()
		write("x509/peer.pem", l.PEM)
		write("private/peer.key", l.KeyPEM)
	}
	write("x509ca/ca.pem", ca.PEM)
	write("swanctl.conf", []byte(peerCertSwanctl))
	peerAs(peer)

	boxConf := filepath.Join(dir, "box.conf")
	if err := os.WriteFile(boxConf, RenderConf(ConfOptions{Socket: boxSock, KernelLibipsec: true}), 0o644); err != nil {
		t.Fatal(err)
	}
	pConf := filepath.Join(dir, "peer.conf")
	conf := strings.Replace(peerConf(peerSock), "pkcs1 x509", "pkcs1 pkcs8 x509", 1)
	if err := os.WriteFile(pConf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pc := startCharon(t, pns, pConf, peerLog)
	waitSocket(t, peerSock)
	pc.swanctl(t, peerSock, filepath.Join(dir, "swanctl", "swanctl.conf"))
	startCharon(t, box, boxConf, boxLog)
	waitSocket(t, boxSock)

	cfg := config.Config{
		Certificates: config.Certificates{Key: config.NewSecret(string(key)), Cert: string(boxCert),
			CAs: []config.NamedCert{{Name: "test-ca", PEM: string(ca.PEM)}}},
		Tunnels: []config.Tunnel{{Name: "site-a", PeerAddress: "192.0.2.2",
			IKESettings:    config.IKESettings{Auth: config.AuthCert, CA: "test-ca"},
			RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.9.0.0/24"))}}},
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	client := NewClient(Options{Socket: boxSock, RefreshInterval: time.Second, CharonPolicies: true,
		Logf: func(f string, a ...any) { t.Logf(f, a...) }})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { client.Run(ctx); close(runDone) }()
	t.Cleanup(func() { cancel(); <-runDone })
	if err := client.Apply(cfg.AllTunnels()); err != nil {
		t.Fatalf("apply: %v", err)
	}
	wait := func(what string, cond func(TunnelStatus) bool) TunnelStatus {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := client.WaitFor(ctx, "site-a", cond)
		if err != nil {
			t.Fatalf("waiting for %s: %v\nstatus: %+v", what, err, st)
		}
		return st
	}
	st := wait("tunnel up with certificates", func(s TunnelStatus) bool { return s.Colour == Green })
	if st.LocalID != "O=Tunneler tests, CN=tunneler-box" || st.RemoteID != "O=Tunneler tests, CN=peer" {
		t.Errorf("identities %q / %q, want the two certificates' subjects", st.LocalID, st.RemoteID)
	}

	for _, tc := range []struct {
		leaf   *certstest.Leaf
		reason string
	}{
		{expired, `the remote device's certificate "O=Tunneler tests, CN=old-peer" has expired`},
		{foreign, `the remote device's certificate "O=Tunneler tests, CN=foreign-peer" was issued by "O=Tunneler tests, CN=Stranger CA", a CA this tunnel does not trust`},
	} {
		peerAs(tc.leaf)
		if tc.leaf == foreign {
			// The device trusts its own CA too, or it would not send
			// its certificate chain's end at all.
			write("x509ca/stranger.pem", stranger.PEM)
		}
		pc.swanctl(t, peerSock, filepath.Join(dir, "swanctl", "swanctl.conf"))
		if err := client.Reconnect("site-a"); err != nil {
			t.Fatalf("reconnect: %v", err)
		}
		st := wait(fmt.Sprintf("reason for %s", tc.leaf.Cert.Subject.CommonName), func(s TunnelStatus) bool {
			return strings.Contains(s.Reason, tc.reason)
		})
		t.Logf("%s: %s: %s", tc.leaf.Cert.Subject.CommonName, st.Colour, st.Reason)
	}
}
