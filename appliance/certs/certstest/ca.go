// Package certstest makes throwaway CAs and certificates for tests: the
// unit tests of certs, config and webui, and the system tests' remote
// sites, whose certificates come from a CA made in the test.
package certstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CA is a test certificate authority.
type CA struct {
	Cert *x509.Certificate
	PEM  []byte
	key  crypto.Signer
}

// Leaf is a certificate the CA issued and its key (PKCS#8 PEM).
type Leaf struct {
	Cert   *x509.Certificate
	PEM    []byte
	KeyPEM []byte
}

// Validity of a certificate, relative to now.
type Validity struct {
	From, To time.Time
}

// Around returns a validity from now-before to now+after.
func Around(now time.Time, before, after time.Duration) Validity {
	return Validity{From: now.Add(-before), To: now.Add(after)}
}

var serial int64 = time.Now().UnixNano()

func next() *big.Int { serial++; return big.NewInt(serial) }

// NewCA makes a self-signed CA with subject "O=Tunneler tests, CN=<cn>".
func NewCA(cn string, v Validity) (*CA, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: next(), Subject: pkix.Name{Organization: []string{"Tunneler tests"}, CommonName: cn},
		NotBefore: v.From, NotAfter: v.To,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		return nil, fmt.Errorf("make CA %q: %w", cn, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: c, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: k}, nil
}

// Issue makes a key and an end-entity certificate for cn (and the
// addresses in ips as subjectAltNames).
func (ca *CA) Issue(cn string, v Validity, ips ...string) (*Leaf, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := ca.sign(cn, v, k.Public(), ips)
	if err != nil {
		return nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: c, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})}, nil
}

// SignCSR issues a certificate for a PEM certificate signing request, as
// an operator's CA would for the box's request.
func (ca *CA) SignCSR(csrPEM []byte, v Validity) ([]byte, error) {
	b, _ := pem.Decode(csrPEM)
	if b == nil {
		return nil, fmt.Errorf("CSR is not PEM")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, err
	}
	tmpl := ca.template(v)
	tmpl.Subject, tmpl.DNSNames, tmpl.IPAddresses = csr.Subject, csr.DNSNames, csr.IPAddresses
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func (ca *CA) template(v Validity) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: next(), NotBefore: v.From, NotAfter: v.To,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
}

func (ca *CA) sign(cn string, v Validity, pub crypto.PublicKey, ips []string) ([]byte, error) {
	tmpl := ca.template(v)
	tmpl.Subject = pkix.Name{Organization: []string{"Tunneler tests"}, CommonName: cn}
	for _, s := range ips {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue %q: %w", cn, err)
	}
	return der, nil
}
