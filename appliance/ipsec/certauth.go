package ipsec

import (
	"fmt"

	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/certs"
	"github.com/tunneler/tunneler/appliance/config"
)

// authMessages are the local and remote auth sections of a connection.
// A certificate tunnel signs with the box's key ("pubkey") and sends its
// certificate; the device's certificate must chain to one of cacerts
// (charon trusts the CAs given here for this connection only) or be the
// pinned certificate in the remote certs. Certificates go in as DER,
// which the x509 plugin reads (through pem, which passes DER on).
func authMessages(t config.Tunnel) (local, remote *vici.Message) {
	local, remote = vici.NewMessage(), vici.NewMessage()
	if t.Auth == config.AuthCert && t.CertAuth != nil {
		local.Set("auth", "pubkey")
		local.Set("certs", []string{string(t.CertAuth.Cert)})
		remote.Set("auth", "pubkey")
		var cas []string
		for _, ca := range t.CertAuth.CAs {
			cas = append(cas, string(ca))
		}
		if len(cas) > 0 {
			remote.Set("cacerts", cas)
		}
		if t.CertAuth.Peer != nil {
			remote.Set("certs", []string{string(t.CertAuth.Peer)})
		}
	} else {
		local.Set("auth", "psk")
		remote.Set("auth", "psk")
	}
	if t.LocalID != "" {
		local.Set("id", t.LocalID)
	}
	if t.RemoteID != "" {
		remote.Set("id", t.RemoteID)
	}
	return local, remote
}

// keyMessage is load-key for the box's key: charon finds it by the
// certificate's public key when it signs.
func keyMessage(key config.Secret) (*vici.Message, error) {
	typ, der, err := certs.CharonKey([]byte(key.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("the box's key: %w", err)
	}
	m := vici.NewMessage()
	m.Set("type", typ)
	m.Set("data", string(der))
	return m, nil
}
