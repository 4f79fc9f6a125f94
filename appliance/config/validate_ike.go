package config

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// validateID checks an IKE identity. Empty means the default (the WAN
// address, or the peer address for the remote side).
func validateID(p *problems, field, id string) {
	if id == "" {
		return
	}
	switch n := utf8.RuneCountInString(id); {
	case !utf8.ValidString(id):
		p.add(field, "is not valid UTF-8 text")
	case n > 255:
		p.add(field, "is %d characters long; an identity must be 1 to 255 characters", n)
	case strings.TrimSpace(id) == "":
		p.add(field, "is only spaces; an identity must be 1 to 255 characters of text")
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		p.add(field, "contains a control character")
	}
}

func validatePSK(p *problems, field string, psk Secret, pskAt map[string]int, i int) {
	switch {
	case psk.IsHidden():
		p.add(field, "is %q, a placeholder for the stored key, but there is no stored key to keep", Hidden)
		return
	case psk.IsZero():
		p.add(field, "is missing; every tunnel needs a pre-shared key, and the box can generate a strong one")
		return
	}
	v := psk.Reveal()
	if n := utf8.RuneCountInString(v); n > 256 {
		p.add(field, "is %d characters long; most VPN devices accept at most 256", n)
		return
	}
	if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		p.add(field, "contains characters that cannot be typed on the remote device (control characters or invalid UTF-8)")
		return
	}
	if msg := pskWeakness(v); msg != "" {
		p.add(field, "%s", msg)
		return
	}
	if j, dup := pskAt[v]; dup {
		p.add(field, "is the same key as tunnels[%d]; use a different key per remote device", j)
		return
	}
	pskAt[v] = i
}

func validateProposals(p *problems, field string, props []string, ike bool, v IKEVersion) {
	for j, s := range props {
		f := idx(field, j)
		if msg := checkProposal(s, ike); msg != "" {
			p.add(f, "%q %s", s, msg)
			continue
		}
		if ike && v == IKEv1 && isAEAD(s) {
			p.add(f, "%q uses an AEAD cipher, which IKEv1 cannot use for IKE; use e.g. aes256-sha256-modp2048", s)
		}
	}
}
