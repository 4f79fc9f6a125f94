// Package certs makes the box's key, its certificate signing request or
// self-signed certificate, and checks the certificates an operator
// imports (a CA, a remote device's certificate, the certificate a CA
// issued for the box's request), each with an error that says what is
// wrong and where. It is crypto only: config stores what it returns, and
// ipsec hands it to charon.
//
// Keys are ECDSA P-256 (the default: small, fast, and accepted by
// strongSwan, libreswan, Cisco, Juniper, Fortinet, Palo Alto, pfSense and
// MikroTik, with IKEv1 and IKEv2) or RSA 3072 for devices that take RSA
// only. Ed25519 is not offered: IKEv1 cannot use it, and many firewalls
// in the field (ASA, SRX, older FortiOS) refuse it.
package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// KeyType names a kind of key the box makes.
type KeyType string

const (
	ECDSAP256 KeyType = "ecdsa-p256"
	RSA3072   KeyType = "rsa-3072"
)

// KeyTypes lists what GenerateKey accepts, the default first.
var KeyTypes = []KeyType{ECDSAP256, RSA3072}

// PEM block types.
const (
	pemCert = "CERTIFICATE"
	pemCSR  = "CERTIFICATE REQUEST"
	pemKey  = "PRIVATE KEY" // PKCS#8
)

// GenerateKey makes a new private key of type t and returns it as a
// PKCS#8 PEM block. rnd is crypto/rand.Reader on the box.
func GenerateKey(rnd io.Reader, t KeyType) ([]byte, error) {
	var k crypto.Signer
	var err error
	switch t {
	case ECDSAP256, "":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rnd)
	case RSA3072:
		k, err = rsa.GenerateKey(rnd, 3072)
	default:
		return nil, fmt.Errorf("key type %q is not one the box makes; use %s or %s", t, ECDSAP256, RSA3072)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", t, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode %s key: %w", t, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: der}), nil
}

// ParseKey reads a key made by GenerateKey (PKCS#8 PEM; "EC PRIVATE KEY"
// and "RSA PRIVATE KEY" blocks are accepted too). Errors never quote the
// key.
func ParseKey(keyPEM []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("the private key is not PEM")
	}
	var k any
	var err error
	switch b.Type {
	case pemKey:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("the private key is a %q PEM block, not a private key", b.Type)
	}
	if err != nil {
		return nil, errors.New("the private key cannot be parsed")
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("the private key is a %T; the box uses ECDSA or RSA keys", k)
}

// CharonKey returns the key as charon's load-key takes it: its type
// ("ecdsa" or "rsa") and the key in the DER form charon's openssl plugin
// reads without the pem and pkcs8 plugins' help (SEC 1 or PKCS#1).
func CharonKey(keyPEM []byte) (typ string, der []byte, err error) {
	k, err := ParseKey(keyPEM)
	if err != nil {
		return "", nil, err
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		der, err = x509.MarshalECPrivateKey(k)
		return "ecdsa", der, err
	case *rsa.PrivateKey:
		return "rsa", x509.MarshalPKCS1PrivateKey(k), nil
	}
	return "", nil, fmt.Errorf("key of type %T", k)
}

// Request is what goes into a CSR or a self-signed certificate.
type Request struct {
	// CommonName is the subject's CN (e.g. the box's host name); the
	// subject is this and Organization, nothing else, so the IKE identity
	// it gives is short.
	CommonName   string
	Organization string
	// DNSNames and IPs go into the subjectAltName, for peers that
	// identify the box by its name or address.
	DNSNames []string
	IPs      []string
}

func (r Request) subject() (pkix.Name, error) {
	cn := strings.TrimSpace(r.CommonName)
	if cn == "" {
		return pkix.Name{}, errors.New("common name is empty; give the box's name, like tunneler-hq")
	}
	if len(cn) > 64 {
		return pkix.Name{}, fmt.Errorf("common name is %d characters long; at most 64", len(cn))
	}
	n := pkix.Name{CommonName: cn}
	if o := strings.TrimSpace(r.Organization); o != "" {
		n.Organization = []string{o}
	}
	return n, nil
}

// NewCSR makes a certificate signing request for the key, for a CA to
// sign; the box keeps the key.
func NewCSR(rnd io.Reader, keyPEM []byte, r Request) ([]byte, error) {
	k, err := ParseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	subj, err := r.subject()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{Subject: subj, DNSNames: r.DNSNames}
	if tmpl.IPAddresses, err = parseIPs(r.IPs); err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rnd, tmpl, k)
	if err != nil {
		return nil, fmt.Errorf("make certificate signing request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCSR, Bytes: der}), nil
}

// SelfSigned makes a certificate for the key, signed by itself, valid
// from now (less an hour for clock skew) for validity. A peer must be
// given this certificate itself to trust it.
func SelfSigned(rnd io.Reader, keyPEM []byte, r Request, now time.Time, validity time.Duration) ([]byte, error) {
	k, err := ParseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	subj, err := r.subject()
	if err != nil {
		return nil, err
	}
	if validity <= 0 {
		return nil, errors.New("validity must be positive")
	}
	serial, err := rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("make serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subj,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		DNSNames:     r.DNSNames,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// Both, for peers that check extended key usage either way.
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	if tmpl.IPAddresses, err = parseIPs(r.IPs); err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, k.Public(), k)
	if err != nil {
		return nil, fmt.Errorf("make self-signed certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: der}), nil
}

// ParseCert reads one PEM certificate; what names it in errors ("the CA
// certificate"). Text around the block (openssl's "Certificate:" dump,
// "Bag Attributes") is ignored; a chain is refused, so the operator
// knows which certificate the box took.
func ParseCert(what string, data []byte) (*x509.Certificate, error) {
	rest := bytes.TrimSpace(data)
	if len(rest) == 0 {
		return nil, fmt.Errorf("%s is empty; paste a PEM certificate (-----BEGIN CERTIFICATE-----)", what)
	}
	var found *x509.Certificate
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case pemCert:
		case pemCSR, "NEW CERTIFICATE REQUEST":
			return nil, fmt.Errorf("%s is a certificate signing request, not a certificate; have the CA sign it and upload what it returns", what)
		case pemKey, "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s contains a private key; upload only the certificate, never a key", what)
		default:
			return nil, fmt.Errorf("%s is a %q PEM block, not a certificate", what, b.Type)
		}
		if found != nil {
			return nil, fmt.Errorf("%s holds more than one certificate; upload one at a time", what)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s cannot be parsed: %w", what, err)
		}
		found = c
	}
	if found == nil {
		return nil, fmt.Errorf("%s is not PEM: expected a block starting with -----BEGIN CERTIFICATE-----", what)
	}
	return found, nil
}

// ParseCSR reads a PEM certificate signing request.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != pemCSR {
		return nil, errors.New("the signing request is not a PEM CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(b.Bytes)
}

// checkTime says when c is outside its validity at now; a zero now
// checks nothing (a stored config stays valid as its certificates age:
// expiry is the status page's and the alarm's business).
func checkTime(what string, c *x509.Certificate, now time.Time) error {
	switch {
	case now.IsZero():
	case now.After(c.NotAfter):
		return fmt.Errorf("%s (%s) expired on %s", what, DN(c.RawSubject), day(c.NotAfter))
	case now.Before(c.NotBefore):
		return fmt.Errorf("%s (%s) is not valid before %s; check the box's clock (NTP) or the certificate", what, DN(c.RawSubject), day(c.NotBefore))
	}
	return nil
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// CheckCA checks a certificate imported as a CA: it must be a CA (basic
// constraints, and may sign certificates when key usage is given) and be
// valid now (unless now is zero).
func CheckCA(what string, c *x509.Certificate, now time.Time) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%s (%s) is not a CA certificate (its basic constraints do not say CA:TRUE); import the CA that issued the remote device's certificate, or import this one as the remote device's certificate", what, DN(c.RawSubject))
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%s (%s) may not sign certificates (its key usage lacks keyCertSign)", what, DN(c.RawSubject))
	}
	return checkTime(what, c, now)
}

// CheckPeer checks a remote device's certificate imported to pin it: it
// must be valid now.
func CheckPeer(what string, c *x509.Certificate, now time.Time) error {
	return checkTime(what, c, now)
}

// CheckOwn checks the box's own certificate against its key: the
// certificate must carry the key's public half and be valid now.
func CheckOwn(what string, c *x509.Certificate, keyPEM []byte, now time.Time) error {
	k, err := ParseKey(keyPEM)
	if err != nil {
		return err
	}
	pub, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(c.PublicKey) {
		return fmt.Errorf("%s (%s) was not issued for the box's key (its public key differs); upload the certificate the CA made from the box's current signing request", what, DN(c.RawSubject))
	}
	return checkTime(what, c, now)
}

// CheckIssuedBy checks that ca signed c (to tell the operator early that
// a CA and a certificate do not belong together).
func CheckIssuedBy(what string, c, ca *x509.Certificate) error {
	if err := c.CheckSignatureFrom(ca); err != nil {
		return fmt.Errorf("%s (%s) was not issued by the CA %s", what, DN(c.RawSubject), DN(ca.RawSubject))
	}
	return nil
}

// Info is what the box shows of a certificate; no secrets.
type Info struct {
	Subject    string    `json:"subject"`
	Issuer     string    `json:"issuer"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	IsCA       bool      `json:"is_ca,omitempty"`
	SelfSigned bool      `json:"self_signed,omitempty"`
	// SHA256 is the fingerprint of the DER, in hex with colons, to compare
	// with the remote device's display.
	SHA256 string `json:"sha256"`
	// KeyType is "ECDSA P-256", "RSA 3072", ...
	KeyType string `json:"key_type"`
}

// Describe summarises c.
func Describe(c *x509.Certificate) Info {
	sum := sha256.Sum256(c.Raw)
	h := hex.EncodeToString(sum[:])
	var fp []string
	for i := 0; i < len(h); i += 2 {
		fp = append(fp, strings.ToUpper(h[i:i+2]))
	}
	return Info{Subject: DN(c.RawSubject), Issuer: DN(c.RawIssuer), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		IsCA: c.IsCA, SelfSigned: bytes.Equal(c.RawIssuer, c.RawSubject),
		SHA256: strings.Join(fp, ":"), KeyType: keyType(c.PublicKey)}
}

func keyType(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}
