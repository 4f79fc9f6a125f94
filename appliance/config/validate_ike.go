package config

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// validateIKE checks the IKE settings a tunnel and a profile share, under
// base ("tunnels[0]", "profiles[1]"), in the order they are written; what
// ("tunnel", "profile") names the owner in messages. A left-out field is
// fine: a tunnel is checked with defaults applied, and the gaps of a
// profile are filled from its preset and the defaults in each remote's
// tunnel. It reports whether the PSK can be used, so that the caller
// compares it with the other keys only then.
func validateIKE(p *problems, base, what string, s IKESettings) (pskOK bool) {
	if _, ok := presets[s.Preset]; !ok {
		p.add(fld(base, "preset"), "%q is not a known preset; use one of %s", s.Preset, presetNames())
	}
	legacy := s.Preset == LegacyPreset
	switch {
	case legacy && !s.AcceptWeakCrypto:
		p.add(fld(base, "accept_weak_crypto"), "must be true to use the %q preset: it allows HMAC-SHA-1 and DH groups 2 and 5 for old devices, weaker than this box's defaults, and the %s is then marked \"weak crypto\"; set it to acknowledge that", LegacyPreset, what)
	case !legacy && s.AcceptWeakCrypto:
		p.add(fld(base, "accept_weak_crypto"), "acknowledges weak crypto, but only the %q preset allows it; set preset to %q or leave this out", LegacyPreset, LegacyPreset)
	}
	v := s.IKEVersion
	switch v {
	case "":
		v = IKEv2
	case IKEv1, IKEv2:
	default:
		p.add(fld(base, "ike_version"), "%q is not an IKE version; it must be ikev2 or ikev1", s.IKEVersion)
	}
	validateID(p, fld(base, "local_id"), s.LocalID)
	validateID(p, fld(base, "remote_id"), s.RemoteID)
	if s.Auth != AuthCert { // certificates: validateCertAuth
		pskOK = validatePSK(p, fld(base, "psk"), s.PSK)
	}
	// A legacy preset without its acknowledgment is reported once, above,
	// not again for each proposal it brings.
	validateProposals(p, fld(base, "ike_proposals"), s.IKEProposals, true, legacy, v)
	validateProposals(p, fld(base, "esp_proposals"), s.ESPProposals, false, legacy, v)
	optDuration := func(name string, d Duration, min, max time.Duration) bool {
		return !d.IsZero() && checkDuration(p, fld(base, name), d, min, max)
	}
	optDuration("ike_lifetime", s.IKELifetime, 10*time.Minute, 24*time.Hour)
	optDuration("child_lifetime", s.ChildLifetime, 2*time.Minute, 24*time.Hour)
	delayOK := optDuration("dpd_delay", s.DPDDelay, 5*time.Second, 10*time.Minute)
	if optDuration("dpd_timeout", s.DPDTimeout, 10*time.Second, time.Hour) && delayOK && s.DPDTimeout.D <= s.DPDDelay.D {
		p.add(fld(base, "dpd_timeout"), "%s must be longer than dpd_delay (%s)", s.DPDTimeout, s.DPDDelay)
	}
	switch s.Initiation {
	case "", Initiator:
	case Responder:
		// A site's standby that only responds cannot be brought up by
		// the box; failover then waits on the remote device.
	default:
		p.add(fld(base, "initiation"), "%q must be initiator or responder", s.Initiation)
	}
	if v == IKEv1 && s.MOBIKE != nil && *s.MOBIKE {
		p.add(fld(base, "mobike"), "needs IKEv2; turn it off for an IKEv1 %s", what)
	}
	return pskOK
}

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

// claimKey records that the tunnel or profile at base holds psk, a key
// that passed validatePSK, or reports the one that held it first: each
// remote device gets its own key. Tunnels are checked before profiles, so
// a profile that reuses a tunnel's key is the one told.
func claimKey(p *problems, base string, psk Secret, keyAt map[string]string) {
	k := psk.Reveal()
	if where, dup := keyAt[k]; dup {
		p.add(fld(base, "psk"), "is the same key as %s; use a different key per remote device", where)
		return
	}
	keyAt[k] = base
}

// validatePSK checks a key on its own and reports whether it can be used;
// whether another tunnel or profile has it too is the caller's check.
func validatePSK(p *problems, field string, psk Secret) bool {
	switch {
	case psk.IsHidden():
		p.add(field, "is %q, a placeholder for the stored key, but there is no stored key to keep", Hidden)
		return false
	case psk.IsZero():
		p.add(field, "is missing; every tunnel needs a pre-shared key, and the box can generate a strong one")
		return false
	}
	v := psk.Reveal()
	if n := utf8.RuneCountInString(v); n > 256 {
		p.add(field, "is %d characters long; most VPN devices accept at most 256", n)
		return false
	}
	if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		p.add(field, "contains characters that cannot be typed on the remote device (control characters or invalid UTF-8)")
		return false
	}
	if msg := pskWeakness(v); msg != "" {
		p.add(field, "%s", msg)
		return false
	}
	return true
}

func validateProposals(p *problems, field string, props []string, ike, legacy bool, v IKEVersion) {
	for j, s := range props {
		f := idx(field, j)
		if msg := checkProposal(s, ike, legacy); msg != "" {
			p.add(f, "%q %s", s, msg)
			continue
		}
		if ike && v == IKEv1 && isAEAD(s) {
			p.add(f, "%q uses an AEAD cipher, which IKEv1 cannot use for IKE; use e.g. aes256-sha256-modp2048", s)
		}
	}
}
