package certs

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
)

// shortNames are the attribute names strongSwan's identity parser
// (identification.c) knows, by OID.
var shortNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "T",
	"2.5.4.42":                   "G",
	"1.2.840.113549.1.9.1":       "E",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// DN writes a certificate's subject or issuer (raw: the DER of the name,
// x509.Certificate's RawSubject or RawIssuer) as an IKE identity that
// strongSwan matches against the certificate: the attributes in the
// order they are encoded ("C=DE, O=Example, CN=box"), which is how
// strongSwan compares DNs (Go's pkix.Name.String writes them reversed). A
// name that does not round-trip through that text form (a comma or '='
// in a value, an unknown attribute, several attributes in one RDN) is
// written as strongSwan's exact binary form, "asn1dn:#" and the DER in
// hex.
func DN(raw []byte) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 {
		return "asn1dn:#" + hex.EncodeToString(raw)
	}
	var parts []string
	for _, rdn := range seq {
		if len(rdn) != 1 {
			return "asn1dn:#" + hex.EncodeToString(raw)
		}
		name, ok := shortNames[rdn[0].Type.String()]
		v, isStr := rdn[0].Value.(string)
		if !ok || !isStr || v == "" || strings.ContainsAny(v, `,=+"\<>#;/`) || strings.TrimSpace(v) != v {
			return "asn1dn:#" + hex.EncodeToString(raw)
		}
		parts = append(parts, name+"="+v)
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ")
}

func parseIPs(ss []string) ([]net.IP, error) {
	var out []net.IP
	for _, s := range ss {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		out = append(out, ip)
	}
	return out, nil
}
