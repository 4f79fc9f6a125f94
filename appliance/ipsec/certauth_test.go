package ipsec

import (
	"crypto/rand"
	"crypto/x509"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/certs"
	"github.com/tunneler/tunneler/appliance/certs/certstest"
	"github.com/tunneler/tunneler/appliance/config"
)

// certTunnel is site-a authenticating with a CA-issued box certificate,
// as AllTunnels hands it over.
func certTunnel(t *testing.T, pin bool) (config.Tunnel, *certstest.CA, *certstest.Leaf, []byte) {
	t.Helper()
	v := certstest.Around(time.Now(), time.Hour, 24*time.Hour)
	ca, err := certstest.NewCA("Test CA", v)
	if err != nil {
		t.Fatal(err)
	}
	key, err := certs.GenerateKey(rand.Reader, certs.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	self, err := certs.SelfSigned(rand.Reader, key, certs.Request{CommonName: "box"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ca.Issue("peer", v)
	if err != nil {
		t.Fatal(err)
	}
	c := config.Config{
		Certificates: config.Certificates{Key: config.NewSecret(string(key)), Cert: string(self),
			CAs: []config.NamedCert{{Name: "ca", PEM: string(ca.PEM)}}, Peers: []config.NamedCert{{Name: "gw", PEM: string(peer.PEM)}}},
		Tunnels: []config.Tunnel{{Name: "site-a", PeerAddress: "198.51.100.9",
			IKESettings:    config.IKESettings{Auth: config.AuthCert, CA: "ca"},
			RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.1.0.0/16"))}}},
	}
	if pin {
		c.Tunnels[0].PeerCert = "gw"
	}
	return c.AllTunnels()[0], ca, peer, key
}

func TestCertConnMessages(t *testing.T) {
	tun, ca, peer, key := certTunnel(t, true)
	c, err := NewConn(tun, 70000)
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretMessage() != nil {
		t.Error("a certificate tunnel loads a PSK")
	}
	local, remote := get(c.Message(), "site-a", "local"), get(c.Message(), "site-a", "remote")
	lauth, _ := local.(interface{ Get(string) any })
	rauth, _ := remote.(interface{ Get(string) any })
	if lauth == nil || rauth == nil {
		t.Fatal("no auth sections")
	}
	for _, tc := range []struct {
		what string
		got  any
		want any
	}{
		{"local auth", lauth.Get("auth"), "pubkey"},
		{"local id", lauth.Get("id"), "CN=box"},
		{"remote auth", rauth.Get("auth"), "pubkey"},
		{"remote id", rauth.Get("id"), "O=Tunneler tests, CN=peer"},
		{"remote cacerts", rauth.Get("cacerts"), []string{string(ca.Cert.Raw)}},
		{"remote certs", rauth.Get("certs"), []string{string(peer.Cert.Raw)}},
	} {
		if d := cmp.Diff(tc.want, tc.got); d != "" {
			t.Errorf("%s (-want +got)\n%s", tc.what, d)
		}
	}
	certs, _ := lauth.Get("certs").([]string)
	if len(certs) != 1 {
		t.Fatalf("local certs %d, want 1", len(certs))
	}
	if own, err := x509.ParseCertificate([]byte(certs[0])); err != nil || own.Subject.CommonName != "box" {
		t.Errorf("local cert is not the box's DER certificate: %v", err)
	}
	k := c.KeyMessage()
	if k == nil || k.Get("type") != "ecdsa" {
		t.Fatalf("load-key message %v, want type ecdsa", k)
	}
	if _, err := x509.ParseECPrivateKey([]byte(k.Get("data").(string))); err != nil {
		t.Errorf("load-key data is not the SEC 1 DER key: %v", err)
	}
	if strings.Contains(c.Fingerprint(), string(key)) {
		t.Error("fingerprint shows the key")
	}
	// Without a pinned certificate the device may show any certificate
	// of the CA.
	tun2, _, _, _ := certTunnel(t, false)
	c2, err := NewConn(tun2, 70000)
	if err != nil {
		t.Fatal(err)
	}
	if id := get(c2.Message(), "site-a", "remote", "id"); id != config.AnyID {
		t.Errorf("remote id %v, want %s", id, config.AnyID)
	}
	if certs := get(c2.Message(), "site-a", "remote", "certs"); certs != nil {
		t.Errorf("remote certs %v without a pinned certificate", certs)
	}
}

func TestCertConnNeedsItsKeyAndCertificate(t *testing.T) {
	tun, _, _, _ := certTunnel(t, false)
	tun.CertAuth = &config.CertAuth{Cert: tun.CertAuth.Cert}
	if _, err := NewConn(tun, 1); err == nil || !strings.Contains(err.Error(), `tunnel "site-a": certificate authentication without the box's certificate and key`) {
		t.Errorf("NewConn without a key: %v", err)
	}
}

func TestApplyLoadsTheKeyOfCertTunnels(t *testing.T) {
	c, f := fakeClient(t)
	tun, _, _, _ := certTunnel(t, false)
	if err := c.Apply([]config.Tunnel{tun, named("b")}); err != nil {
		t.Fatal(err)
	}
	want := []string{"load-key ", "load-conn site-a", "load-shared tunneler-psk-b", "load-conn b"}
	if d := cmp.Diff(want, f.calls); d != "" {
		t.Errorf("apply (-want +got)\n%s", d)
	}
	// A PSK tunnel turned to certificates loses its PSK in charon.
	f.calls = nil
	b := tun
	b.Name = "b"
	if err := c.Apply([]config.Tunnel{tun, b}); err != nil {
		t.Fatal(err)
	}
	want = []string{"unload-conn b", "terminate b", "unload-shared tunneler-psk-b", "load-key ", "load-conn b"}
	if d := cmp.Diff(want, f.calls); d != "" {
		t.Errorf("psk to cert (-want +got)\n%s", d)
	}
}
