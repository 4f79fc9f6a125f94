package webui

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/atomicfile"
)

// The operator's own certificate: instead of the box's self-signed one,
// the web UI can serve a certificate (with its chain) and key the operator
// pastes as PEM, e.g. from their company CA. It is checked before it is
// kept: the key must be the certificate's, and the certificate valid now.
// It replaces the files LoadOrCreateCert reads, takes effect on the next
// TLS handshake, and its fingerprint goes to the console.

// CertError is a problem with an uploaded certificate or key, and which
// of the two form fields ("cert", "key") it concerns.
type CertError struct {
	Field, Message string
}

func (e *CertError) Error() string { return e.Field + ": " + e.Message }

// CheckOperatorCert parses certPEM (the leaf first, then its chain) and
// keyPEM, and checks that the key matches the leaf and that the leaf is
// valid at now. Errors are *CertError; none repeats the key.
func CheckOperatorCert(certPEM, keyPEM []byte, now time.Time) (tls.Certificate, error) {
	if !hasPEMBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, &CertError{"cert", "is not a PEM certificate (-----BEGIN CERTIFICATE-----)"}
	}
	if !hasPEMBlock(keyPEM, "PRIVATE KEY") {
		return tls.Certificate{}, &CertError{"key", "is not a PEM private key (-----BEGIN PRIVATE KEY-----, or RSA/EC PRIVATE KEY)"}
	}
	leafDER, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(leafDER.Bytes)
	if err != nil {
		return tls.Certificate{}, &CertError{"cert", fmt.Sprintf("cannot be read: %v", err)}
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, &CertError{"cert", fmt.Sprintf("expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly))}
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, &CertError{"cert", fmt.Sprintf("is not valid before %s (is the box's clock right?)", leaf.NotBefore.UTC().Format(time.DateTime))}
	}
	if len(leaf.ExtKeyUsage) > 0 && !hasServerAuth(leaf.ExtKeyUsage) {
		return tls.Certificate{}, &CertError{"cert", "is not for TLS servers (its extended key usage lacks serverAuth)"}
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The library's message names the mismatch without the key.
		msg := "does not match the certificate"
		if !strings.Contains(err.Error(), "does not match") {
			msg = "cannot be used: " + err.Error()
		}
		return tls.Certificate{}, &CertError{"key", msg}
	}
	return c, nil
}

func hasPEMBlock(b []byte, typeSuffix string) bool {
	blk, _ := pem.Decode(b)
	return blk != nil && strings.HasSuffix(blk.Type, typeSuffix)
}

func hasServerAuth(us []x509.ExtKeyUsage) bool {
	for _, u := range us {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// SaveCert writes a checked certificate and key where LoadOrCreateCert
// finds them, key first (0600): a cert without its key is useless, and a
// crash between the two leaves the old pair's cert, which LoadOrCreateCert
// then refuses and replaces rather than lock the operator out.
func SaveCert(dir string, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create cert dir: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		return fmt.Errorf("write web UI key: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		return fmt.Errorf("write web UI cert: %w", err)
	}
	return nil
}

// certInfo is what the Settings page shows of the served certificate.
type certInfo struct {
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	NotAfter    time.Time `json:"not_after"`
	SelfSigned  bool      `json:"self_signed"`
}

func describeCert(c *tls.Certificate) *certInfo {
	if c == nil || len(c.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return &certInfo{Fingerprint: Fingerprint(*c), Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(),
		NotAfter: leaf.NotAfter, SelfSigned: leaf.Subject.String() == leaf.Issuer.String()}
}

// certificate is POST /settings/certificate: fields cert and key (PEM).
// The key is never written back into the page or the answer.
func (s *Server) certificate(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	p := s.settingsPage(sess, c)
	p.Form.Set("cert", r.PostFormValue("cert"))
	if s.opt.CertDir == "" {
		p.addErr("cert", "cannot be changed on this box (no storage for it)")
		s.render(w, r, "settings", p)
		return
	}
	certPEM, keyPEM := []byte(r.PostFormValue("cert")), []byte(r.PostFormValue("key"))
	cert, err := CheckOperatorCert(certPEM, keyPEM, s.now())
	var ce *CertError
	if errors.As(err, &ce) {
		p.addErr(ce.Field, ce.Message)
		s.render(w, r, "settings", p)
		return
	}
	if err == nil {
		err = SaveCert(s.opt.CertDir, certPEM, keyPEM)
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "the certificate could not be kept: "+err.Error())
		return
	}
	s.cert.Store(&cert)
	fp := Fingerprint(cert)
	s.logf("webui: the operator's certificate is installed; web UI certificate SHA-256 %s", fp)
	if s.opt.CertChanged != nil {
		s.opt.CertChanged(cert)
	}
	done(w, r, "/settings?cert=installed#certificate", map[string]any{"fingerprint": fp})
}
