package config

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/certs"
	"github.com/tunneler/tunneler/appliance/certs/certstest"
)

// certFixture is a box key and a CA-issued certificate for it, the CA,
// another CA, and a remote device's certificate from the first CA.
type certFixture struct {
	key, cert     string
	ca, otherCA   string
	peer, peerKey string
}

func newCertFixture(t *testing.T) certFixture {
	t.Helper()
	now := time.Now()
	v := certstest.Around(now, time.Hour, 90*24*time.Hour)
	ca, err := certstest.NewCA("Test CA", v)
	if err != nil {
		t.Fatal(err)
	}
	other, err := certstest.NewCA("Other CA", v)
	if err != nil {
		t.Fatal(err)
	}
	key, err := certs.GenerateKey(rand.Reader, certs.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(rand.Reader, key, certs.Request{CommonName: "tunneler-1", Organization: "Example"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.SignCSR(csr, v)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ca.Issue("site-a-gw", v)
	if err != nil {
		t.Fatal(err)
	}
	return certFixture{key: string(key), cert: string(cert), ca: string(ca.PEM), otherCA: string(other.PEM),
		peer: string(peer.PEM), peerKey: string(peer.KeyPEM)}
}

func (f certFixture) config() Config {
	c := validConfig()
	c.Certificates = Certificates{Key: NewSecret(f.key), Cert: f.cert,
		CAs:   []NamedCert{{Name: "hq-ca", PEM: f.ca}, {Name: "other-ca", PEM: f.otherCA}},
		Peers: []NamedCert{{Name: "site-a-gw", PEM: f.peer}}}
	c.Tunnels[0].Auth, c.Tunnels[0].CA, c.Tunnels[0].PSK = AuthCert, "hq-ca", Secret{}
	c.Tunnels[0].LocalID, c.Tunnels[0].RemoteID = "", ""
	return c
}

func TestValidateCertificates(t *testing.T) {
	f := newCertFixture(t)
	if errs := f.config().Validate(); errs != nil {
		t.Fatalf("valid certificate config: %v", errs)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   FieldErrors
	}{
		{"unknown auth", func(c *Config) { c.Tunnels[0].Auth = "rsa" },
			FieldErrors{
				{"tunnels[0].psk", "is missing; every tunnel needs a pre-shared key, and the box can generate a strong one"},
				{"tunnels[0].auth", `"rsa" must be psk or cert`},
			}},
		{"psk tunnel still needs its key", func(c *Config) { c.Tunnels[0].Auth = AuthPSK },
			FieldErrors{{"tunnels[0].psk", "is missing; every tunnel needs a pre-shared key, and the box can generate a strong one"}}},
		{"no box certificate", func(c *Config) { c.Certificates.Cert = "" },
			FieldErrors{{"tunnels[0].auth", "is cert, but the box has no certificate yet; make one on the Certificates page (a self-signed one, or a request for a CA to sign)"}}},
		{"unknown CA name", func(c *Config) { c.Tunnels[0].CA = "nope" },
			FieldErrors{{"tunnels[0].ca", `"nope" is not an imported CA certificate; imported: [hq-ca other-ca]`}}},
		{"no CA at all", func(c *Config) { c.Certificates.CAs = nil; c.Tunnels[0].CA = "" },
			FieldErrors{{"tunnels[0].ca", "is empty and no CA is imported; import the CA that issued the remote device's certificate, or the device's certificate itself"}}},
		{"unknown peer certificate", func(c *Config) { c.Tunnels[0].PeerCert = "gw2" },
			FieldErrors{{"tunnels[0].peer_cert", `"gw2" is not an imported remote device certificate; imported: [site-a-gw]`}}},
		{"peer certificate from another CA", func(c *Config) { c.Tunnels[0].CA, c.Tunnels[0].PeerCert = "other-ca", "site-a-gw" },
			FieldErrors{{"tunnels[0].peer_cert", "the certificate site-a-gw (O=Tunneler tests, CN=site-a-gw) was not issued by the CA O=Tunneler tests, CN=Other CA; choose the CA that issued it"}}},
		{"bad PEM for a CA", func(c *Config) { c.Certificates.CAs[1].PEM = "hello" },
			FieldErrors{{"certificates.cas[1].pem", "is not PEM: expected a block starting with -----BEGIN CERTIFICATE-----"}}},
		{"leaf imported as CA", func(c *Config) { c.Certificates.CAs[1].PEM = f.peer },
			FieldErrors{{"certificates.cas[1].pem", "(O=Tunneler tests, CN=site-a-gw) is not a CA certificate (its basic constraints do not say CA:TRUE); import the CA that issued the remote device's certificate, or import this one as the remote device's certificate"}}},
		{"duplicate CA name", func(c *Config) { c.Certificates.CAs[1].Name = "hq-ca" },
			FieldErrors{{"certificates.cas[1].name", `"hq-ca" is already the name of certificates.cas[0]; names must be unique`}}},
		{"certificate for another key", func(c *Config) { c.Certificates.Cert = f.peer },
			FieldErrors{{"certificates.cert", "the box's certificate (O=Tunneler tests, CN=site-a-gw) was not issued for the box's key (its public key differs); upload the certificate the CA made from the box's current signing request"}}},
		{"certificate without key", func(c *Config) { c.Certificates.Key = Secret{} },
			FieldErrors{{"certificates.cert", "is set but the box has no key; make a key and a request on the Certificates page"}}},
		{"key placeholder with nothing stored", func(c *Config) { c.Certificates.Key = Secret{hidden: true} },
			FieldErrors{{"certificates.key", `is "(hidden)", a placeholder for the stored key, but there is no stored key to keep`}}},
		{"broken request", func(c *Config) { c.Certificates.Request = "x" },
			FieldErrors{{"certificates.request", "the signing request is not a PEM CERTIFICATE REQUEST"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.config()
			tc.mutate(&c)
			if d := cmp.Diff(tc.want, c.Validate()); d != "" {
				t.Errorf("Validate (-want +got)\n%s", d)
			}
		})
	}
}

func TestCertificateTunnelIdentitiesAndMaterial(t *testing.T) {
	f := newCertFixture(t)
	c := f.config()
	c.Tunnels[1].Auth, c.Tunnels[1].PeerCert, c.Tunnels[1].PSK = AuthCert, "site-a-gw", Secret{}
	c.Tunnels[1].RemoteID = ""
	all := c.AllTunnels()
	a, b := all[0], all[1]
	if a.LocalID != "O=Example, CN=tunneler-1" || a.RemoteID != AnyID {
		t.Errorf("tunnel with a CA: ids %q / %q, want the box's subject / %q", a.LocalID, a.RemoteID, AnyID)
	}
	if a.CertAuth == nil || len(a.CertAuth.CAs) != 1 || a.CertAuth.Peer != nil || len(a.CertAuth.Cert) == 0 || a.CertAuth.Key.Reveal() != f.key {
		t.Errorf("tunnel with a CA: CertAuth %+v", a.CertAuth)
	}
	if b.RemoteID != "O=Tunneler tests, CN=site-a-gw" {
		t.Errorf("tunnel with a pinned certificate: remote id %q, want the certificate's subject", b.RemoteID)
	}
	if b.CertAuth == nil || len(b.CertAuth.CAs) != 2 || b.CertAuth.Peer == nil {
		t.Errorf("tunnel with a pinned certificate and no CA named: CertAuth CAs %d, peer %v; want both CAs and the peer", len(b.CertAuth.CAs), b.CertAuth.Peer != nil)
	}
	// An operator's identities win.
	c.Tunnels[0].LocalID, c.Tunnels[0].RemoteID = "box.example.com", "gw.example.com"
	if got := c.AllTunnels()[0]; got.LocalID != "box.example.com" || got.RemoteID != "gw.example.com" {
		t.Errorf("set identities became %q / %q", got.LocalID, got.RemoteID)
	}
	// A PSK tunnel gets no certificate material and keeps its defaults.
	if p := validConfig().AllTunnels()[1]; p.CertAuth != nil || p.RemoteID != "vpn.site-b.example.net" {
		t.Errorf("psk tunnel: CertAuth %v, remote id %q", p.CertAuth, p.RemoteID)
	}
}

func TestCertificateKeyIsASecret(t *testing.T) {
	f := newCertFixture(t)
	c := f.config()
	doc, sec, err := EncodeWithSecrets(c)
	if err != nil {
		t.Fatal(err)
	}
	keyBody := strings.Split(f.key, "\n")[1]
	if strings.Contains(string(doc), keyBody) || !strings.Contains(string(doc), `"key": "(hidden)"`) {
		t.Errorf("the main document carries the key, or no placeholder:\n%s", doc)
	}
	if strings.Contains(c.String(), keyBody) {
		t.Error("Config.String shows the key")
	}
	back, err := DecodeWithSecrets(doc, sec)
	if err != nil {
		t.Fatal(err)
	}
	if back.Certificates.Key.Reveal() != f.key {
		t.Error("the key did not come back from the secrets file")
	}
	hidden, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if kept := hidden.KeepSecrets(c); kept.Certificates.Key.Reveal() != f.key {
		t.Error("KeepSecrets did not put the stored key back")
	}
	found := false
	for _, v := range c.SecretValues() {
		found = found || v == f.key
	}
	if !found {
		t.Error("SecretValues leaves out the key, so logs would not redact it")
	}
}

// The history says a new key was made, never what it is.
func TestCertificateDiffHidesTheKey(t *testing.T) {
	f := newCertFixture(t)
	old := validConfig()
	changes := Diff(old, f.config())
	keyBody := strings.Split(f.key, "\n")[1]
	var fields []string
	for _, ch := range changes {
		if strings.Contains(ch.Old+ch.New, keyBody[:20]) {
			t.Errorf("change %s shows the key", ch.Field)
		}
		fields = append(fields, ch.Field+"="+ch.New)
	}
	if !strings.Contains(strings.Join(fields, " "), "certificates.key=set") {
		t.Errorf("changes %v lack certificates.key=set", fields)
	}
}
