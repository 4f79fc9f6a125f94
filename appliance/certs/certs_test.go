package certs_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/certs"
	"github.com/tunneler/tunneler/appliance/certs/certstest"
)

var now = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

func mustKey(t *testing.T, kt certs.KeyType) []byte {
	t.Helper()
	k, err := certs.GenerateKey(rand.Reader, kt)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGenerateKeyCSRAndSelfSigned(t *testing.T) {
	for _, tc := range []struct {
		kt      certs.KeyType
		keyType string // certs.Info.KeyType
		charon  string // load-key type
		wantErr string
	}{
		{kt: "", keyType: "ECDSA P-256", charon: "ecdsa"},
		{kt: certs.ECDSAP256, keyType: "ECDSA P-256", charon: "ecdsa"},
		{kt: certs.RSA3072, keyType: "RSA 3072", charon: "rsa"},
		{kt: "ed25519", wantErr: `key type "ed25519" is not one the box makes; use ecdsa-p256 or rsa-3072`},
		{kt: "rsa-1024", wantErr: `key type "rsa-1024" is not one the box makes`},
	} {
		t.Run(string(tc.kt), func(t *testing.T) {
			keyPEM, err := certs.GenerateKey(rand.Reader, tc.kt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("GenerateKey(%q) = %v, want error containing %q", tc.kt, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(keyPEM), "-----BEGIN PRIVATE KEY-----") {
				t.Errorf("key is not PKCS#8 PEM: %.30q", keyPEM)
			}
			typ, der, err := certs.CharonKey(keyPEM)
			if err != nil || typ != tc.charon || len(der) == 0 {
				t.Errorf("CharonKey = %q, %d bytes, %v; want %q", typ, len(der), err, tc.charon)
			}
			req := certs.Request{CommonName: "tunneler-hq", Organization: "Example", IPs: []string{"192.0.2.10"}}
			csrPEM, err := certs.NewCSR(rand.Reader, keyPEM, req)
			if err != nil {
				t.Fatal(err)
			}
			csr, err := certs.ParseCSR(csrPEM)
			if err != nil {
				t.Fatal(err)
			}
			if err := csr.CheckSignature(); err != nil {
				t.Errorf("CSR signature: %v", err)
			}
			if csr.Subject.CommonName != "tunneler-hq" || len(csr.IPAddresses) != 1 {
				t.Errorf("CSR subject %v, IPs %v", csr.Subject, csr.IPAddresses)
			}
			// A CA signs it; the box takes the result for its key.
			ca, err := certstest.NewCA("Test CA", certstest.Around(now, time.Hour, 24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			signed, err := ca.SignCSR(csrPEM, certstest.Around(now, time.Hour, 24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			c, err := certs.ParseCert("the box's certificate", signed)
			if err != nil {
				t.Fatal(err)
			}
			if err := certs.CheckOwn("the box's certificate", c, keyPEM, now); err != nil {
				t.Errorf("CheckOwn of the CA-signed certificate: %v", err)
			}
			if err := certs.CheckIssuedBy("the box's certificate", c, ca.Cert); err != nil {
				t.Error(err)
			}

			ssPEM, err := certs.SelfSigned(rand.Reader, keyPEM, req, now, 365*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			ss, err := certs.ParseCert("the self-signed certificate", ssPEM)
			if err != nil {
				t.Fatal(err)
			}
			if err := certs.CheckOwn("the self-signed certificate", ss, keyPEM, now); err != nil {
				t.Error(err)
			}
			info := certs.Describe(ss)
			want := certs.Info{Subject: "O=Example, CN=tunneler-hq", Issuer: "O=Example, CN=tunneler-hq",
				SelfSigned: true, KeyType: tc.keyType, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour)}
			if info.Subject != want.Subject || info.Issuer != want.Issuer || !info.SelfSigned || info.KeyType != want.KeyType ||
				!info.NotBefore.Equal(want.NotBefore) || !info.NotAfter.Equal(want.NotAfter) || len(info.SHA256) != 95 {
				t.Errorf("Describe = %+v, want like %+v", info, want)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	key := mustKey(t, certs.ECDSAP256)
	for _, tc := range []struct {
		name string
		key  []byte
		req  certs.Request
		want string
	}{
		{"empty common name", key, certs.Request{CommonName: "  "}, "common name is empty"},
		{"long common name", key, certs.Request{CommonName: strings.Repeat("a", 65)}, "common name is 65 characters long; at most 64"},
		{"bad IP", key, certs.Request{CommonName: "box", IPs: []string{"192.0.2"}}, `"192.0.2" is not an IP address`},
		{"no key", []byte("nonsense"), certs.Request{CommonName: "box"}, "the private key is not PEM"},
		{"certificate for key", pemOf("CERTIFICATE", []byte{1}), certs.Request{CommonName: "box"}, `the private key is a "CERTIFICATE" PEM block, not a private key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := certs.NewCSR(rand.Reader, tc.key, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewCSR = %v, want %q", err, tc.want)
			}
			_, err = certs.SelfSigned(rand.Reader, tc.key, tc.req, now, time.Hour)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SelfSigned = %v, want %q", err, tc.want)
			}
		})
	}
}

func pemOf(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }

func TestImportErrors(t *testing.T) {
	valid := certstest.Around(now, time.Hour, 400*24*time.Hour)
	ca, err := certstest.NewCA("Test CA", valid)
	if err != nil {
		t.Fatal(err)
	}
	other, err := certstest.NewCA("Other CA", valid)
	if err != nil {
		t.Fatal(err)
	}
	oldCA, err := certstest.NewCA("Old CA", certstest.Validity{From: now.Add(-800 * 24 * time.Hour), To: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	futureCA, err := certstest.NewCA("Future CA", certstest.Validity{From: now.Add(48 * time.Hour), To: now.Add(800 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("peer", valid)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca.Issue("old-peer", certstest.Validity{From: now.Add(-48 * time.Hour), To: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	boxKey := mustKey(t, certs.ECDSAP256)
	csr, err := certs.NewCSR(rand.Reader, boxKey, certs.Request{CommonName: "box"})
	if err != nil {
		t.Fatal(err)
	}

	const what = "cas[0].pem"
	for _, tc := range []struct {
		name  string
		data  []byte
		check func(c *x509.Certificate) error
		want  string
	}{
		{name: "empty", data: []byte("\n "), want: "cas[0].pem is empty; paste a PEM certificate"},
		{name: "not PEM", data: []byte("MIIBhello"), want: "cas[0].pem is not PEM: expected a block starting with -----BEGIN CERTIFICATE-----"},
		{name: "bad DER", data: pemOf("CERTIFICATE", []byte("garbage")), want: "cas[0].pem cannot be parsed"},
		{name: "a CSR", data: csr, want: "cas[0].pem is a certificate signing request, not a certificate"},
		{name: "a key", data: boxKey, want: "cas[0].pem contains a private key; upload only the certificate"},
		{name: "two certificates", data: append(append([]byte{}, ca.PEM...), other.PEM...), want: "cas[0].pem holds more than one certificate"},
		{name: "other block", data: pemOf("PUBLIC KEY", []byte{1}), want: `cas[0].pem is a "PUBLIC KEY" PEM block, not a certificate`},
		{name: "text around is fine", data: append([]byte("Bag Attributes\n  friendlyName: ca\n"), ca.PEM...),
			check: func(c *x509.Certificate) error { return certs.CheckCA(what, c, now) }},
		{name: "not a CA", data: leaf.PEM, check: func(c *x509.Certificate) error { return certs.CheckCA(what, c, now) },
			want: "cas[0].pem (O=Tunneler tests, CN=peer) is not a CA certificate"},
		{name: "expired CA", data: oldCA.PEM, check: func(c *x509.Certificate) error { return certs.CheckCA(what, c, now) },
			want: "cas[0].pem (O=Tunneler tests, CN=Old CA) expired on " + now.Add(-24*time.Hour).Format("2006-01-02 15:04 UTC")},
		{name: "CA not yet valid", data: futureCA.PEM, check: func(c *x509.Certificate) error { return certs.CheckCA(what, c, now) },
			want: "is not valid before " + now.Add(48*time.Hour).Format("2006-01-02 15:04 UTC") + "; check the box's clock"},
		{name: "expired peer", data: expired.PEM, check: func(c *x509.Certificate) error { return certs.CheckPeer(what, c, now) },
			want: "cas[0].pem (O=Tunneler tests, CN=old-peer) expired on"},
		{name: "key mismatch", data: leaf.PEM, check: func(c *x509.Certificate) error { return certs.CheckOwn(what, c, boxKey, now) },
			want: "cas[0].pem (O=Tunneler tests, CN=peer) was not issued for the box's key (its public key differs)"},
		{name: "other issuer", data: leaf.PEM, check: func(c *x509.Certificate) error { return certs.CheckIssuedBy(what, c, other.Cert) },
			want: "cas[0].pem (O=Tunneler tests, CN=peer) was not issued by the CA O=Tunneler tests, CN=Other CA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := certs.ParseCert(what, tc.data)
			if err == nil && tc.check != nil {
				err = tc.check(c)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestDN(t *testing.T) {
	raw := func(n pkix.RDNSequence) []byte {
		b, err := asn1.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	atv := func(oid asn1.ObjectIdentifier, v string) pkix.RelativeDistinguishedNameSET {
		return pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}}
	}
	c, o, cn, ou := asn1.ObjectIdentifier{2, 5, 4, 6}, asn1.ObjectIdentifier{2, 5, 4, 10}, asn1.ObjectIdentifier{2, 5, 4, 3}, asn1.ObjectIdentifier{2, 5, 4, 11}
	for _, tc := range []struct {
		name string
		seq  pkix.RDNSequence
		want string
	}{
		{"encoded order", pkix.RDNSequence{atv(c, "DE"), atv(o, "Example"), atv(cn, "box one")}, "C=DE, O=Example, CN=box one"},
		{"reverse order kept", pkix.RDNSequence{atv(cn, "box"), atv(ou, "Ops")}, "CN=box, OU=Ops"},
		{"comma in value", pkix.RDNSequence{atv(o, "Example, Inc."), atv(cn, "box")}, "asn1dn:#"},
		{"unknown attribute", pkix.RDNSequence{atv(asn1.ObjectIdentifier{1, 2, 3}, "x")}, "asn1dn:#"},
		{"multi-valued RDN", pkix.RDNSequence{{{Type: o, Value: "a"}, {Type: cn, Value: "b"}}}, "asn1dn:#"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := raw(tc.seq)
			got := certs.DN(b)
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("DN = %q, want %q", got, tc.want)
			}
			if strings.HasPrefix(got, "asn1dn:#") && !strings.HasSuffix(got, asn1Hex(b)) {
				t.Errorf("DN = %q does not carry the DER", got)
			}
		})
	}
}

func asn1Hex(b []byte) string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, hexd[x>>4], hexd[x&15])
	}
	return string(out)
}
