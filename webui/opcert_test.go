package webui

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCertPEM makes a certificate and key as PEM, valid from notBefore to
// notAfter, for the operator-upload tests.
func testCertPEM(t *testing.T, notBefore, notAfter time.Time, eku ...x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "box.example.com"},
		Issuer: pkix.Name{CommonName: "Example CA"}, NotBefore: notBefore, NotAfter: notAfter,
		DNSNames: []string{"box.example.com"}, ExtKeyUsage: eku}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func TestCheckOperatorCert(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	good, goodKey := testCertPEM(t, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0), x509.ExtKeyUsageServerAuth)
	_, otherKey := testCertPEM(t, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))
	expired, expiredKey := testCertPEM(t, now.AddDate(-2, 0, 0), now.AddDate(0, 0, -1))
	early, earlyKey := testCertPEM(t, now.AddDate(0, 0, 1), now.AddDate(1, 0, 0))
	client, clientKey := testCertPEM(t, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0), x509.ExtKeyUsageClientAuth)
	for _, tc := range []struct {
		name      string
		cert, key []byte
		field     string // "" means accepted
		msg       string
	}{
		{"good", good, goodKey, "", ""},
		{"chain after the leaf", append(append([]byte{}, good...), early...), goodKey, "", ""},
		{"key of another certificate", good, otherKey, "key", "does not match the certificate"},
		{"expired", expired, expiredKey, "cert", "expired on"},
		{"not yet valid", early, earlyKey, "cert", "is not valid before"},
		{"client certificate", client, clientKey, "cert", "serverAuth"},
		{"not PEM", []byte("hello"), goodKey, "cert", "is not a PEM certificate"},
		{"key missing", good, nil, "key", "is not a PEM private key"},
		{"certificate as key", good, good, "key", "is not a PEM private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := CheckOperatorCert(tc.cert, tc.key, now)
			if tc.field == "" {
				if err != nil || len(c.Certificate) == 0 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ce *CertError
			if !errors.As(err, &ce) || ce.Field != tc.field || !strings.Contains(ce.Message, tc.msg) {
				t.Fatalf("error %v, want on %s saying %q", err, tc.field, tc.msg)
			}
			if len(tc.key) > 0 && strings.Contains(err.Error(), strings.TrimSpace(string(tc.key))) {
				t.Error("the error repeats the key")
			}
		})
	}
}

// TestCertificateUpload: a good pair is kept on disk (key 0600), served
// from the next handshake, shown on Settings and handed to the console;
// a bad one is refused on its field, and the key is never echoed.
func TestCertificateUpload(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	var changed []string
	h.srv.opt.CertDir = dir
	h.srv.opt.CertChanged = func(c tls.Certificate) { changed = append(changed, Fingerprint(c)) }
	own, err := LoadOrCreateCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.srv.cert.Store(&own) // as Serve does
	tok := h.setup()
	certPEM, keyPEM := testCertPEM(t, h.now.AddDate(0, -1, 0), h.now.AddDate(1, 0, 0))

	// Refused: the key of another certificate; nothing kept, key not echoed.
	_, otherKey := testCertPEM(t, h.now.AddDate(0, -1, 0), h.now.AddDate(1, 0, 0))
	st, _, body := h.post("/settings/certificate", url.Values{"csrf": {tok}, "cert": {string(certPEM)}, "key": {string(otherKey)}})
	if st != 422 || !strings.Contains(fieldErr(body, "key"), "does not match") {
		t.Errorf("mismatched key: %d, key error %q", st, fieldErr(body, "key"))
	}
	if strings.Contains(body, "PRIVATE KEY-----\n") || len(changed) != 0 {
		t.Errorf("a refused upload echoed the key or changed the certificate")
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		t.Error("a refused key was written")
	}

	st, path, body := h.post("/settings/certificate", url.Values{"csrf": {tok}, "cert": {string(certPEM)}, "key": {string(keyPEM)}})
	want, _ := tls.X509KeyPair(certPEM, keyPEM)
	fp := Fingerprint(want)
	if st != 200 || path != "/settings" || !strings.Contains(body, fp) || !strings.Contains(body, "certificate is installed") {
		t.Fatalf("upload: %d at %s; page shows the fingerprint: %v", st, path, strings.Contains(body, fp))
	}
	if strings.Contains(body, string(keyPEM)) || strings.Contains(h.logs.String(), "PRIVATE KEY") {
		t.Error("the key is in the page or the log")
	}
	if len(changed) != 1 || changed[0] != fp || !strings.Contains(h.logs.String(), fp) {
		t.Errorf("console told %v, log has the fingerprint %v; want %s", changed, strings.Contains(h.logs.String(), fp), fp)
	}
	if got := Fingerprint(*h.srv.cert.Load()); got != fp {
		t.Errorf("served certificate %s, want the upload's %s", got, fp)
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, fi)
	}
	// LoadOrCreateCert (the next boot) finds the operator's pair.
	if c, err := LoadOrCreateCert(dir); err != nil || Fingerprint(c) != fp {
		t.Errorf("after a reboot the certificate would be %v (%v), want the upload's", Fingerprint(c), err)
	}
}
