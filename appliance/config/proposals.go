package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Preset is a set of proposals and lifetimes known to interoperate with a
// kind of remote device while staying inside the allowlist. A preset fills
// only what a tunnel leaves out.
type Preset struct {
	IKE, ESP                   []string
	IKELifetime, ChildLifetime time.Duration
}

// Strong defaults: AES-GCM first; one CBC/SHA-256/MODP-2048 fallback for
// older devices that have no GCM or ECP in IKE. ESP proposals carry a DH
// group so rekeyed CHILD_SAs get fresh keys (PFS).
//
// The first group of the first IKE proposal is the box's key exchange
// guess: charon sends its KE payload for that group, and a peer that
// picks another group answers INVALID_KE_PAYLOAD, costing a round trip.
// ECP-256 (group 19) with PRF SHA-256 leads because every peer we meet
// takes it: it is RFC 8247's SHOULD group and PRF_HMAC_SHA2_256 its MUST
// PRF; strongSwan, libreswan's defaults (whose PRFs are SHA2-512 and
// SHA2-256, not SHA2-384, so a lead of prfsha384-ecp384 made libreswan
// pick the x25519 proposal and ask again), Cisco, FortiGate, Palo Alto,
// Juniper, MikroTik, AWS and Azure all accept it, while x25519 is missing
// on AWS, Azure and older PAN-OS and Junos. The stronger ECP-384 and
// x25519 proposals follow for peers that prefer them.
var (
	defaultIKE = []string{
		"aes256gcm16-prfsha256-ecp256",
		"aes256gcm16-prfsha384-ecp384",
		"aes256gcm16-prfsha256-x25519",
		"aes256-sha256-modp2048",
	}
	defaultESP = []string{
		"aes256gcm16-ecp256",
		"aes256gcm16-ecp384",
		"aes256gcm16-x25519",
		"aes256-sha256-modp2048",
	}
)

// LegacyPreset names the preset for old remote devices (AWS's
// "compatibility" samples, firewalls of the 2010s): it adds HMAC-SHA-1
// and DH groups 2 and 5 after the strong proposals. A tunnel or profile
// takes it only together with AcceptWeakCrypto, and is then shown as
// "weak crypto" everywhere its state is. DES, 3DES and MD5 stay refused.
const LegacyPreset = "legacy"

// legacyIKE and legacyESP keep the strong proposals first, so a device
// that can do better still does; every ESP proposal keeps a DH group (PFS).
var (
	legacyIKE = []string{
		"aes256gcm16-prfsha256-ecp256",
		"aes256-sha256-modp2048",
		"aes128-sha256-modp2048",
		"aes256-sha1-modp2048",
		"aes128-sha1-modp2048",
		"aes256-sha1-modp1536",
		"aes128-sha1-modp1536",
		"aes256-sha1-modp1024",
		"aes128-sha1-modp1024",
	}
	legacyESP = []string{
		"aes256gcm16-ecp256",
		"aes256-sha256-modp2048",
		"aes128-sha256-modp2048",
		"aes256-sha1-modp2048",
		"aes128-sha1-modp2048",
		"aes256-sha1-modp1536",
		"aes128-sha1-modp1536",
		"aes256-sha1-modp1024",
		"aes128-sha1-modp1024",
	}
)

// presets by name; "" is the default. Read-only: use LookupPreset outside this file.
var presets = map[string]Preset{
	"":           {IKE: defaultIKE, ESP: defaultESP, IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime},
	"strongswan": {IKE: defaultIKE, ESP: defaultESP, IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime},
	// IOS/IOS-XE IKEv2: GCM needs a PRF spelled out; group 19/20 or 14.
	"cisco-ios": {
		IKE:         []string{"aes256gcm16-prfsha384-ecp384", "aes256-sha256-ecp256", "aes256-sha256-modp2048"},
		ESP:         []string{"aes256gcm16-ecp384", "aes256-sha256-ecp256", "aes256-sha256-modp2048"},
		IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime,
	},
	// FortiOS phase 1/2 proposals are pairs like aes256-sha256 with DH 14,
	// 19, 20 or 21; phase 2 defaults to 12h, phase 1 to 24h.
	"fortigate": {
		IKE:         []string{"aes256gcm16-prfsha384-ecp384", "aes256-sha256-ecp384", "aes256-sha256-modp2048"},
		ESP:         []string{"aes256gcm16-ecp384", "aes256-sha256-ecp384", "aes256-sha256-modp2048"},
		IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime,
	},
	// PAN-OS crypto profiles: IKE 8h, IPsec 1h by default.
	"paloalto": {
		IKE:         []string{"aes256gcm16-prfsha384-ecp384", "aes256-sha384-ecp384", "aes256-sha256-modp2048"},
		ESP:         []string{"aes256gcm16-ecp384", "aes256-sha256-ecp384", "aes256-sha256-modp2048"},
		IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime,
	},
	// pfSense/OPNsense are strongSwan underneath; their GUIs default to
	// AES-256/SHA-256/DH 14, phase 1 8h, phase 2 1h.
	"pfsense": {
		IKE:         []string{"aes256gcm16-prfsha256-modp2048", "aes256-sha256-modp2048", "aes256gcm16-prfsha384-ecp384"},
		ESP:         []string{"aes256gcm16-modp2048", "aes256-sha256-modp2048", "aes256gcm16-ecp384"},
		IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime,
	},
	LegacyPreset: {IKE: legacyIKE, ESP: legacyESP, IKELifetime: DefaultIKELifetime, ChildLifetime: DefaultChildLifetime},
}

// algorithm kinds inside a strongSwan proposal string.
type algKind int

const (
	algEncr algKind = iota
	algAEAD
	algInteg
	algPRF
	algDH
	algESN
)

// allowed lists the algorithms still considered safe (RFC 8221, RFC 8247
// MUST/SHOULD, plus AES-CBC and MODP-2048 for interoperability). It is an
// allowlist: anything not here is refused, including names this firmware
// does not know.
var allowed = map[string]algKind{}

func init() {
	for _, bits := range []string{"128", "192", "256"} {
		allowed["aes"+bits] = algEncr
		allowed["aes"+bits+"ctr"] = algEncr
		for _, icv := range []string{"12", "16", "96", "128"} {
			allowed["aes"+bits+"gcm"+icv] = algAEAD
		}
		for _, icv := range []string{"12", "16", "96", "128"} {
			allowed["aes"+bits+"ccm"+icv] = algAEAD
		}
	}
	allowed["chacha20poly1305"] = algAEAD
	for _, h := range []string{"sha256", "sha384", "sha512", "sha2_256", "sha2_384", "sha2_512"} {
		allowed[h] = algInteg
	}
	for _, h := range []string{"prfsha256", "prfsha384", "prfsha512"} {
		allowed[h] = algPRF
	}
	for _, g := range []string{
		"modp2048", "modp3072", "modp4096", "modp6144", "modp8192",
		"ecp256", "ecp384", "ecp521", "ecp256bp", "ecp384bp", "ecp512bp",
		"x25519", "curve25519", "x448", "curve448",
	} {
		allowed[g] = algDH
	}
	allowed["esn"] = algESN
	allowed["noesn"] = algESN
}

// refused explains the common weak algorithms in words an operator can
// take to the remote device's admin.
var refused = map[string]string{
	"des":          "DES is broken",
	"3des":         "3DES has a 64-bit block (Sweet32)",
	"blowfish":     "Blowfish has a 64-bit block",
	"cast128":      "CAST-128 has a 64-bit block",
	"null":         "null offers no protection",
	"md5":          "MD5 is broken",
	"prfmd5":       "MD5 is broken",
	"sha1":         "SHA-1 is no longer safe for integrity or key derivation",
	"sha":          "SHA-1 is no longer safe for integrity or key derivation",
	"prfsha1":      "SHA-1 is no longer safe for integrity or key derivation",
	"sha256_96":    "sha256_96 is a non-standard truncation",
	"aes128gcm8":   "an 8-byte ICV is too short",
	"aes192gcm8":   "an 8-byte ICV is too short",
	"aes256gcm8":   "an 8-byte ICV is too short",
	"aes128gcm64":  "a 64-bit ICV is too short",
	"aes192gcm64":  "a 64-bit ICV is too short",
	"aes256gcm64":  "a 64-bit ICV is too short",
	"modp768":      "768-bit DH can be broken",
	"modp1024":     "1024-bit DH can be broken (Logjam)",
	"modp1536":     "1536-bit DH is too weak",
	"modp1024s160": "RFC 5114 groups are of doubtful origin and too weak",
	"modp2048s224": "RFC 5114 groups are of doubtful origin",
	"modp2048s256": "RFC 5114 groups are of doubtful origin",
	"ecp192":       "192-bit curves are too weak",
	"ecp224":       "224-bit curves are too weak",
	"ecp224bp":     "224-bit curves are too weak",
	"aesxcbc":      "AES-XCBC-96 is not on the allowlist; use sha256",
	"prfaesxcbc":   "AES-XCBC is not on the allowlist; use prfsha256",
	"aescmac":      "AES-CMAC-96 is not on the allowlist; use sha256",
	"prfaescmac":   "AES-CMAC is not on the allowlist; use prfsha256",
	"camellia256":  "Camellia is not on the allowlist; use aes256gcm16",
	"serpent256":   "Serpent is not on the allowlist; use aes256gcm16",
	"twofish256":   "Twofish is not on the allowlist; use aes256gcm16",
}

// legacyOnly are the refused algorithms the legacy preset lets through,
// with their kind: what old devices need and what is still far from
// broken in a negotiation (HMAC-SHA-1 is not SHA-1's collisions; groups 2
// and 5 cost a nation-state, not a passer-by). DES, 3DES and MD5 are not
// here and never will be.
var legacyOnly = map[string]algKind{
	"sha1": algInteg, "sha": algInteg, "prfsha1": algPRF,
	"modp1024": algDH, "modp1536": algDH,
}

// legacyHint is what a refusal of a legacy-only algorithm adds: the way
// through, in each of the places a tunnel is written.
const legacyHint = `; an old device that needs it is accepted only with the "legacy" preset and the weak-crypto acknowledgment (accept_weak_crypto; IPSEC_LEGACY=yes in an env file)`

// WeakProposal reports whether a proposal names an algorithm only the
// legacy preset allows (HMAC-SHA-1, DH groups 2 and 5).
func WeakProposal(p string) bool { return usesLegacy(p) }

func usesLegacy(p string) bool {
	for _, part := range strings.Split(strings.ToLower(p), "-") {
		if _, ok := legacyOnly[part]; ok {
			return true
		}
	}
	return false
}

// WeakCrypto reports whether these settings let the weaker algorithms of
// the legacy preset be negotiated, counting the preset's proposals where
// the lists are left out. The Overview, the IPsec page and the console
// mark such a tunnel "weak crypto".
func (s IKESettings) WeakCrypto() bool {
	p := presets[s.Preset]
	ike, esp := s.IKEProposals, s.ESPProposals
	if len(ike) == 0 {
		ike = p.IKE
	}
	if len(esp) == 0 {
		esp = p.ESP
	}
	return slices.ContainsFunc(ike, usesLegacy) || slices.ContainsFunc(esp, usesLegacy)
}

// checkProposal returns what is wrong with one strongSwan proposal string,
// or "" when it is fine. ike says whether it is an IKE proposal (which needs
// a DH group and, without AEAD, integrity) or an ESP one; legacy lets the
// legacyOnly algorithms through.
func checkProposal(p string, ike, legacy bool) string {
	// ipsec.conf marked strict proposals with a trailing "!"; swanctl
	// proposals are always strict.
	if strings.HasSuffix(p, "!") {
		return fmt.Sprintf("ends in \"!\", an ipsec.conf marker; write %q", strings.TrimSuffix(p, "!"))
	}
	switch strings.ToLower(p) {
	case "":
		return "is empty"
	case "default":
		return "is strongSwan's default set, which includes algorithms this box does not allow; list the proposals instead"
	}
	var has [algESN + 1]bool
	for _, part := range strings.Split(strings.ToLower(p), "-") {
		if part == "" {
			return "has an empty part (two dashes in a row, or a dash at an end)"
		}
		kind, ok := allowed[part]
		if k, weak := legacyOnly[part]; weak && legacy {
			kind, ok = k, true
		} else if why, bad := refused[part]; bad {
			if weak {
				why += legacyHint
			}
			return fmt.Sprintf("uses %s: %s", part, why)
		}
		if !ok {
			if part == "prf" {
				return "has a lone \"prf\"; strongSwan writes it joined to the hash, e.g. prfsha384"
			}
			return fmt.Sprintf("uses %s, which is not on the list of algorithms this box allows", part)
		}
		if !ike && kind == algPRF {
			return fmt.Sprintf("has a PRF (%s), which only IKE proposals take", part)
		}
		if ike && kind == algESN {
			return fmt.Sprintf("has %s, which only ESP proposals take", part)
		}
		has[kind] = true
	}
	switch {
	case !has[algEncr] && !has[algAEAD]:
		return "names no encryption algorithm (e.g. aes256gcm16)"
	case has[algEncr] && has[algAEAD]:
		return "mixes an AEAD cipher (GCM/CCM/ChaCha20) with a classic one; use separate proposals"
	case has[algEncr] && !has[algInteg]:
		return "has a non-AEAD cipher but no integrity algorithm (e.g. sha256)"
	case has[algAEAD] && has[algInteg] && !ike:
		return "has an integrity algorithm with an AEAD cipher, which needs none"
	case ike && has[algAEAD] && !has[algPRF]:
		return "has an AEAD cipher but no PRF (e.g. prfsha384)"
	case ike && !has[algDH]:
		return "names no Diffie-Hellman group (e.g. ecp384)"
	}
	return ""
}

// isAEAD reports whether a (valid) proposal uses an AEAD cipher.
func isAEAD(p string) bool {
	for _, part := range strings.Split(strings.ToLower(p), "-") {
		if allowed[part] == algAEAD {
			return true
		}
	}
	return false
}

// presetNames lists the preset names for messages, sorted.
func presetNames() string {
	var names []string
	for n := range presets {
		if n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// LookupPreset returns a copy of the named preset ("" is the default), for
// the web UI to show what a preset would pick.
func LookupPreset(name string) (Preset, bool) {
	p, ok := presets[name]
	p.IKE, p.ESP = slices.Clone(p.IKE), slices.Clone(p.ESP)
	return p, ok
}

// PresetNames lists the named presets, sorted.
func PresetNames() []string { return strings.Split(presetNames(), ", ") }
