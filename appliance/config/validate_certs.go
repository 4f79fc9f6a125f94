package config

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/tunneler/tunneler/appliance/certs"
)

// validateCertificates checks the certificates section and every tunnel
// and profile that authenticates with certificates. Expiry is not
// checked here: a stored config must stay valid while its certificates
// age (the IPsec page and an alarm say when they expire); the import
// actions refuse an expired certificate.
func validateCertificates(p *problems, c Config) {
	cs := c.Certificates
	const base = "certificates"
	var own *x509.Certificate
	keyOK := false
	switch {
	case cs.Key.IsHidden():
		p.add(fld(base, "key"), "is %q, a placeholder for the stored key, but there is no stored key to keep", Hidden)
	case !cs.Key.IsZero():
		if _, err := certs.ParseKey([]byte(cs.Key.Reveal())); err != nil {
			p.add(fld(base, "key"), "%v; make a new key on the Certificates page", err)
		} else {
			keyOK = true
		}
	}
	if cs.Request != "" {
		if _, err := certs.ParseCSR([]byte(cs.Request)); err != nil {
			p.add(fld(base, "request"), "%v", err)
		}
	}
	if cs.Cert != "" {
		cert, err := certs.ParseCert("the box's certificate", []byte(cs.Cert))
		switch {
		case err != nil:
			p.add(fld(base, "cert"), "%v", err)
		case cs.Key.IsZero():
			p.add(fld(base, "cert"), "is set but the box has no key; make a key and a request on the Certificates page")
		case keyOK:
			if err := certs.CheckOwn("the box's certificate", cert, []byte(cs.Key.Reveal()), time.Time{}); err != nil {
				p.add(fld(base, "cert"), "%v", err)
			} else {
				own = cert
			}
		}
	}
	cas := validateCertList(p, fld(base, "cas"), cs.CAs, "CA certificate", true)
	peers := validateCertList(p, fld(base, "peers"), cs.Peers, "remote device's certificate", false)

	check := func(base string, s IKESettings) {
		switch s.Auth {
		case "", AuthPSK:
			return
		case AuthCert:
		default:
			p.add(fld(base, "auth"), "%q must be psk or cert", s.Auth)
			return
		}
		if own == nil && cs.Cert == "" {
			p.add(fld(base, "auth"), "is cert, but the box has no certificate yet; make one on the Certificates page (a self-signed one, or a request for a CA to sign)")
		}
		ca, caOK := cas[s.CA]
		switch {
		case s.CA != "" && !caOK:
			p.add(fld(base, "ca"), "%q is not an imported CA certificate%s", s.CA, known(cs.CAs))
		case s.CA == "" && len(cs.CAs) == 0 && s.PeerCert == "":
			p.add(fld(base, "ca"), "is empty and no CA is imported; import the CA that issued the remote device's certificate, or the device's certificate itself")
		}
		peer, peerOK := peers[s.PeerCert]
		if s.PeerCert != "" && !peerOK {
			p.add(fld(base, "peer_cert"), "%q is not an imported remote device certificate%s", s.PeerCert, known(cs.Peers))
		}
		if caOK && peerOK && s.CA != "" && peer != nil && ca != nil {
			if err := certs.CheckIssuedBy("the certificate "+s.PeerCert, peer, ca); err != nil {
				p.add(fld(base, "peer_cert"), "%v; choose the CA that issued it", err)
			}
		}
	}
	for i, t := range c.Tunnels {
		check(idx("tunnels", i), t.IKESettings)
	}
	for i, pr := range c.Profiles {
		check(idx("profiles", i), pr.IKESettings)
	}
}

// validateCertList checks the imported certificates at base and returns
// the usable ones by name (a name maps to nil when its certificate is
// unusable, so tunnels naming it are not told it is missing).
func validateCertList(p *problems, base string, list []NamedCert, what string, ca bool) map[string]*x509.Certificate {
	out := map[string]*x509.Certificate{}
	nameAt := map[string]string{}
	for i, n := range list {
		b := idx(base, i)
		validateName(p, b, n.Name, "the "+what, "hq-ca", nameAt)
		c, err := certs.ParseCert(fld(b, "pem"), []byte(n.PEM))
		if err == nil && ca {
			err = certs.CheckCA(fld(b, "pem"), c, time.Time{})
		}
		if err != nil {
			p.add(fld(b, "pem"), "%v", trimWhat(err, fld(b, "pem")))
			c = nil
		}
		if n.Name != "" {
			out[n.Name] = c
		}
	}
	return out
}

// trimWhat drops the field's name from the start of a certs error: the
// field error names it already.
func trimWhat(err error, what string) string {
	s := err.Error()
	if len(s) > len(what)+1 && s[:len(what)] == what {
		return s[len(what)+1:]
	}
	return s
}

func known(list []NamedCert) string {
	if len(list) == 0 {
		return "; none is imported yet"
	}
	var names []string
	for _, n := range list {
		names = append(names, n.Name)
	}
	return fmt.Sprintf("; imported: %v", names)
}
