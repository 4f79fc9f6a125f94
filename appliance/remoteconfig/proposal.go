package remoteconfig

import (
	"strconv"
	"strings"
)

// proposal is one strongSwan proposal string taken apart, so each vendor's
// template can spell it in its own words.
type proposal struct {
	Raw   string // as the tunnel has it, e.g. aes256gcm16-prfsha384-ecp384
	Bits  int    // AES key length: 128, 192 or 256
	GCM   bool   // AES-GCM with a 16-byte ICV (the only AEAD the exports spell)
	Integ string // sha1, sha256, sha384, sha512; "" with GCM
	PRF   string // the same names; "" when the integrity algorithm's is meant
	DH    string // strongSwan's name, e.g. ecp256; "" when none (no PFS)
	Group int    // its IANA number; 0 when none
	// Odd is set when the proposal names something the vendor exports
	// cannot spell (CTR, CCM, ChaCha20, other ICVs): only the strongSwan
	// export, which copies proposals verbatim, takes it.
	Odd bool
}

// groups maps strongSwan DH names to IANA group numbers.
var groups = map[string]int{
	"modp1024": 2, "modp1536": 5, "modp2048": 14, "modp3072": 15, "modp4096": 16, "modp6144": 17, "modp8192": 18,
	"ecp256": 19, "ecp384": 20, "ecp521": 21, "ecp256bp": 28, "ecp384bp": 29, "ecp512bp": 30,
	"x25519": 31, "curve25519": 31, "x448": 32, "curve448": 32,
}

// parseProposal reads a proposal config.Validate accepted.
func parseProposal(s string) proposal {
	p := proposal{Raw: s}
	for _, part := range strings.Split(strings.ToLower(s), "-") {
		switch {
		case groups[part] != 0:
			p.DH, p.Group = part, groups[part]
		case part == "modpnone", part == "esn", part == "noesn":
		case strings.HasPrefix(part, "prf"):
			p.PRF = hashName(strings.TrimPrefix(part, "prf"))
		case strings.HasPrefix(part, "sha"):
			p.Integ = hashName(part)
		case strings.HasPrefix(part, "aes"):
			bits, mode, _ := strings.Cut(strings.TrimPrefix(part, "aes"), "gcm")
			n, err := strconv.Atoi(bits)
			switch {
			case err != nil: // aes256ctr, aes128ccm16...
				p.Odd = true
			case strings.Contains(part, "gcm") && mode != "16" && mode != "128":
				p.Odd = true
			}
			p.Bits, p.GCM = n, strings.Contains(part, "gcm")
		default:
			p.Odd = true
		}
	}
	return p
}

// hashName folds strongSwan's spellings (sha, sha1, sha2_256, sha256).
func hashName(s string) string {
	switch s = strings.ReplaceAll(s, "2_", ""); s {
	case "sha", "sha1":
		return "sha1"
	}
	return s
}

// PRFHash is the PRF the proposal means: the named one, or the integrity
// algorithm's.
func (p proposal) PRFHash() string { return p.prf() }

func (p proposal) prf() string {
	if p.PRF != "" {
		return p.PRF
	}
	return p.Integ
}

// hashBits is 256 for sha256 and so on; 160 for sha1.
func hashBits(h string) string {
	if h == "sha1" {
		return "160"
	}
	return strings.TrimPrefix(h, "sha")
}
