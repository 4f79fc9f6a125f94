package config

import (
	"encoding/pem"
	"slices"

	"github.com/tunneler/tunneler/appliance/certs"
)

// AuthMethod is how a tunnel's two ends authenticate.
type AuthMethod string

const (
	// AuthPSK: a pre-shared key (the default).
	AuthPSK AuthMethod = "psk"
	// AuthCert: X.509 certificates; the box signs with its key
	// (Certificates.Key) and shows Certificates.Cert, and the remote
	// device's certificate must come from an imported CA or be the
	// imported PeerCert.
	AuthCert AuthMethod = "cert"
)

// AnyID is the remote identity of a certificate tunnel that names neither
// an identity nor a pinned certificate: any certificate the tunnel's CA
// issued is accepted.
const AnyID = "%any"

// Certificates are the box's own key and certificate, and the
// certificates it trusts. Certificates are public and kept in the main
// document as PEM; the key is a Secret, so it lives in the 0600 secrets
// file and leaves the box only in an encrypted backup.
type Certificates struct {
	// Key is the box's private key (PKCS#8 PEM), made on the box
	// (certs.GenerateKey); never imported, never shown.
	Key Secret `json:"key,omitzero"`
	// Request is the certificate signing request for Key (PEM), kept
	// for the operator to download until a CA's certificate is uploaded.
	Request string `json:"request,omitempty"`
	// Cert is the box's certificate for Key (PEM): self-signed, or
	// issued by a CA from Request. Its subject is the box's default
	// identity in certificate tunnels.
	Cert string `json:"cert,omitempty"`
	// CAs are the certificate authorities whose certificates the box
	// accepts from remote devices.
	CAs []NamedCert `json:"cas,omitempty"`
	// Peers are remote devices' own certificates, for a tunnel to pin
	// (IKESettings.PeerCert); a self-signed device certificate must be
	// imported here.
	Peers []NamedCert `json:"peers,omitempty"`
}

// NamedCert is one imported certificate.
type NamedCert struct {
	// Name is how tunnels refer to it (a-z, 0-9, '-').
	Name string `json:"name"`
	PEM  string `json:"pem"`
}

// CertAuth is what charon needs for a certificate tunnel, DER-encoded.
type CertAuth struct {
	Key  Secret   // the box's key, PEM
	Cert []byte   // the box's certificate
	CAs  [][]byte // the CAs the remote device's certificate may come from
	Peer []byte   // the remote device's pinned certificate, or nil
}

// IsZero reports whether nothing is set (omitzero).
func (c Certificates) IsZero() bool {
	return c.Key.IsZero() && c.Request == "" && c.Cert == "" && len(c.CAs) == 0 && len(c.Peers) == 0
}

// CA returns the imported CA called name.
func (c Certificates) CA(name string) (NamedCert, bool) { return findCert(c.CAs, name) }

// Peer returns the imported remote device's certificate called name.
func (c Certificates) Peer(name string) (NamedCert, bool) { return findCert(c.Peers, name) }

func findCert(list []NamedCert, name string) (NamedCert, bool) {
	i := slices.IndexFunc(list, func(n NamedCert) bool { return n.Name == name })
	if i < 0 {
		return NamedCert{}, false
	}
	return list[i], true
}

func (c Certificates) clone() Certificates {
	c.CAs = slices.Clone(c.CAs)
	c.Peers = slices.Clone(c.Peers)
	return c
}

// der returns the first certificate in a PEM text, nil if there is none.
func der(pemText string) []byte {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil
	}
	return b.Bytes
}

// attach fills in a certificate tunnel's CertAuth and its default
// identities: the box's certificate's subject (local), and the pinned
// certificate's subject or AnyID (remote). Missing parts are left out;
// Validate reports them.
func (c Certificates) attach(t Tunnel) Tunnel {
	if t.Auth != AuthCert {
		return t
	}
	a := &CertAuth{Key: c.Key, Cert: der(c.Cert)}
	for _, ca := range c.CAs {
		if t.CA == "" || ca.Name == t.CA {
			if d := der(ca.PEM); d != nil {
				a.CAs = append(a.CAs, d)
			}
		}
	}
	peer, pinned := c.Peer(t.PeerCert)
	if pinned && t.PeerCert != "" {
		a.Peer = der(peer.PEM)
	}
	if t.LocalID == "" {
		if own, err := certs.ParseCert("cert", []byte(c.Cert)); err == nil {
			t.LocalID = certs.DN(own.RawSubject)
		}
	}
	if t.RemoteID == "" {
		t.RemoteID = AnyID
		if a.Peer != nil {
			if pc, err := certs.ParseCert("peer", []byte(peer.PEM)); err == nil {
				t.RemoteID = certs.DN(pc.RawSubject)
			}
		}
	}
	t.CertAuth = a
	return t
}
