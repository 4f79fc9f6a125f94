// Package explain reads charon's log lines of one IKE_SA and says what
// went wrong with both sides named: the proposals the remote device
// offered against the ones this tunnel accepts (and the preset that would
// match), the networks or the identity it sent against the configured
// ones, a wrong pre-shared key kept apart from a wrong ID where IKE tells
// them apart, NAT, and the device's vendor IDs.
//
// Direction matters: "sending NO_PROPOSAL_CHOSEN" means this box refused
// the device's offer; "received NO_PROPOSAL_CHOSEN" means the device
// refused ours. The lines are those charon 5.9.8 writes at log level 1,
// which is also what its VICI "log" events carry.
package explain

import (
	"fmt"
	"regexp"
	"strings"
)

// Kinds of mismatch.
const (
	IKEProposals     = "ike-proposals"
	ESPProposals     = "esp-proposals"
	TrafficSelectors = "traffic-selectors"
	Identity         = "identity"
	PSK              = "psk"
	Auth             = "auth" // the device refused our AUTH: key or IDs, IKEv2 does not say which
	NoConfig         = "no-config"
	// AggressiveMode: an IKEv1 device in aggressive mode, which the box
	// refuses with a PSK (charon's default): the device's first message
	// carries a hash of the key that anyone who sees it can crack offline.
	AggressiveMode = "aggressive-mode"
	// Certificates (cert.go): the device's certificate is outside its
	// validity, or comes from no CA this tunnel trusts, or this box
	// lacks its own key.
	CertInvalid   = "cert-invalid"
	CertUntrusted = "cert-untrusted"
	CertNoKey     = "cert-no-key"
)

// Sides: who refused.
const (
	Ours   = "ours"   // this box refused what the device sent
	Theirs = "theirs" // the device refused what this box sent
)

// Expect is what this tunnel is configured with, for the halves charon's
// log does not repeat (the expected remote ID, the configured networks).
type Expect struct {
	RemoteID          string
	LocalTS, RemoteTS []string
	// Presets maps a preset name to its IKE and ESP proposals in
	// strongSwan's keyword notation (config.LookupPreset).
	Presets map[string]Preset
	// Cert says the tunnel authenticates with certificates, so a refused
	// AUTH is about the box's certificate, not a key.
	Cert bool
}

// Preset is one preset's proposal lists, e.g. "aes256-sha256-modp2048".
// Weak marks a preset that needs the operator's weak-crypto
// acknowledgment (config.LegacyPreset); it is named only when no other
// preset matches.
type Preset struct {
	IKE, ESP []string
	Weak     bool
}

// Explanation is what one IKE_SA's log says. Kind is "" when nothing
// failed; NAT and VendorIDs are filled either way.
type Explanation struct {
	Kind    string `json:"kind,omitempty"`
	Side    string `json:"side,omitempty"`
	Summary string `json:"summary,omitempty"`
	// Offered and Accepted are proposals in charon's notation, e.g.
	// IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024.
	Offered  []string `json:"offered,omitempty"`
	Accepted []string `json:"accepted,omitempty"`
	// Preset names the preset whose proposals would match the offer;
	// NoPreset is set when none would.
	Preset   string `json:"preset,omitempty"`
	NoPreset bool   `json:"no_preset,omitempty"`
	// PresetWeak: the matching preset is the legacy one, which takes the
	// weak-crypto acknowledgment too.
	PresetWeak bool `json:"preset_weak,omitempty"`
	// ProposedTS are the networks the device proposed ("local === remote"
	// as this box sees them); ConfiguredTS are this tunnel's.
	ProposedTS   string `json:"proposed_ts,omitempty"`
	ConfiguredTS string `json:"configured_ts,omitempty"`
	// SentID is the identity the device sent; ExpectedID the configured one.
	SentID     string `json:"sent_id,omitempty"`
	ExpectedID string `json:"expected_id,omitempty"`
	// Issuer is the CA named in the device's certificate, Validity its
	// validity period as charon logged it (certificate failures).
	Issuer    string   `json:"issuer,omitempty"`
	Validity  string   `json:"validity,omitempty"`
	Expired   bool     `json:"expired,omitempty"`
	NAT       []string `json:"nat,omitempty"`
	VendorIDs []string `json:"vendor_ids,omitempty"`
}

var (
	prefixRe    = regexp.MustCompile(`^\d+\[[A-Z]+\] (<[^>]*> )?`)
	receivedRe  = regexp.MustCompile(`^received proposals: (.*)$`)
	configRe    = regexp.MustCompile(`^configured proposals: (.*)$`)
	weRefuseRe  = regexp.MustCompile(`^(received proposals unacceptable|no proposal found|no acceptable proposal found|no matching proposal found, sending NO_PROPOSAL_CHOSEN)`)
	theyRefuse  = regexp.MustCompile(`^received NO_PROPOSAL_CHOSEN (notify error|error notify|notify, no CHILD_SA built)`)
	noConfigRe  = regexp.MustCompile(`^no IKE config found for (\S+)\.\.\.(\S+), sending NO_PROPOSAL_CHOSEN`)
	tsRe        = regexp.MustCompile(`^traffic selectors (.*) unacceptable`)
	tsTheirsRe  = regexp.MustCompile(`^received TS_UNACCEPTABLE notify`)
	lookingRe   = regexp.MustCompile(`^looking for (?:pre-shared key )?peer configs matching \S*?\[?([^\]]*)\]?\.\.\.[^\[]*\[([^\]]*)\]`)
	noPeerRe    = regexp.MustCompile(`^no matching peer config found`)
	macRe       = regexp.MustCompile(`^tried \d+ shared keys? for '([^']*)' - '([^']*)', but MAC mismatched`)
	v1DecryptRe = regexp.MustCompile(`^invalid (ID|HASH)_V1 payload length, decryption failed\?`)
	authFailRe  = regexp.MustCompile(`^received AUTHENTICATION_FAILED (notify error|error notify)`)
	establRe    = regexp.MustCompile(`^IKE_SA \S+ established between`)
	natRe       = regexp.MustCompile(`^(local|remote) host is behind NAT`)
	fakeNATRe   = regexp.MustCompile(`^faking NAT situation`)
	aggrRe      = regexp.MustCompile(`^Aggressive Mode PSK disabled for security reasons`)
	vidRe       = regexp.MustCompile(`^received (.+) vendor ID(?:: (.*))?$`)
)

// Message strips charon's filelog prefix ("12[IKE] <site-a|1> "), so raw
// log lines and VICI log events' msg read the same.
func Message(line string) string { return prefixRe.ReplaceAllString(strings.TrimSpace(line), "") }

// Explain reads one IKE_SA's log lines in order; the last failure wins.
func Explain(lines []string, want Expect) Explanation {
	var e Explanation
	var offered, accepted []string
	var sentID string
	ikeUp := false
	set := func(kind, side string) {
		keepNAT, keepVID := e.NAT, e.VendorIDs
		e = Explanation{Kind: kind, Side: side, NAT: keepNAT, VendorIDs: keepVID}
	}
	for _, raw := range lines {
		m := Message(raw)
		switch {
		case receivedRe.MatchString(m):
			offered = splitProposals(receivedRe.FindStringSubmatch(m)[1])
		case configRe.MatchString(m):
			accepted = splitProposals(configRe.FindStringSubmatch(m)[1])
		case weRefuseRe.MatchString(m):
			kind := IKEProposals
			if ikeUp || strings.HasPrefix(first(offered), "ESP:") || strings.HasPrefix(first(offered), "AH:") {
				kind = ESPProposals
			}
			set(kind, Ours)
			e.Offered, e.Accepted = offered, accepted
			e.Preset, e.NoPreset = matchPreset(offered, want.Presets, kind == IKEProposals)
			e.PresetWeak = want.Presets[e.Preset].Weak
		case theyRefuse.MatchString(m):
			kind := IKEProposals
			if ikeUp || strings.Contains(m, "CHILD_SA") {
				kind = ESPProposals
			}
			set(kind, Theirs)
		case noConfigRe.MatchString(m):
			set(NoConfig, Ours)
			e.SentID = noConfigRe.FindStringSubmatch(m)[2]
		case tsRe.MatchString(m):
			set(TrafficSelectors, Ours)
			e.ProposedTS = tsRe.FindStringSubmatch(m)[1]
		case tsTheirsRe.MatchString(m):
			set(TrafficSelectors, Theirs)
		case lookingRe.MatchString(m):
			sentID = lookingRe.FindStringSubmatch(m)[2]
		case noPeerRe.MatchString(m):
			set(Identity, Ours)
			e.SentID = sentID
		case macRe.MatchString(m):
			set(PSK, Ours)
			e.SentID = macRe.FindStringSubmatch(m)[2]
		case v1DecryptRe.MatchString(m):
			set(PSK, Ours)
		case authFailRe.MatchString(m):
			set(Auth, Theirs)
		case aggrRe.MatchString(m):
			set(AggressiveMode, Ours)
		case certLine(&e, m, set):
		case establRe.MatchString(m):
			ikeUp = true
		case natRe.MatchString(m):
			addOnce(&e.NAT, natRe.FindStringSubmatch(m)[1]+" host is behind NAT")
		case fakeNATRe.MatchString(m):
			addOnce(&e.NAT, "UDP encapsulation forced (NAT faked)")
		case vidRe.MatchString(m):
			sm := vidRe.FindStringSubmatch(m)
			v := strings.TrimSpace(strings.ReplaceAll(sm[1], `\n`, ""))
			if sm[2] != "" {
				v += " " + sm[2]
			}
			addOnce(&e.VendorIDs, v)
		}
	}
	switch e.Kind {
	case TrafficSelectors:
		e.ConfiguredTS = strings.Join(want.LocalTS, ",") + " === " + strings.Join(want.RemoteTS, ",")
	case Identity, Auth, PSK, NoConfig, CertUntrusted:
		e.ExpectedID = want.RemoteID
	case "":
		e.SentID = "" // a certificate's subject read on the way
	}
	e.Summary = summary(e, want)
	return e
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func addOnce(list *[]string, s string) {
	for _, x := range *list {
		if x == s {
			return
		}
	}
	*list = append(*list, s)
}

func splitProposals(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ", ") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// summary says it in plain words, naming both sides.
func summary(e Explanation, want Expect) string {
	list := func(ps []string) string {
		if len(ps) == 0 {
			return "(not logged)"
		}
		return strings.Join(ps, ", ")
	}
	preset := ""
	switch {
	case e.PresetWeak:
		preset = fmt.Sprintf("; the device offers only weak crypto, which this box takes only with the %q preset and the weak-crypto acknowledgment", e.Preset)
	case e.Preset != "":
		preset = fmt.Sprintf("; the preset %q would match", e.Preset)
	case e.NoPreset:
		preset = "; no preset of this box matches (the device offers only algorithms this box does not allow)"
	}
	switch e.Kind {
	case IKEProposals, ESPProposals:
		phase := "IKE (phase 1)"
		if e.Kind == ESPProposals {
			phase = "ESP (phase 2)"
		}
		if e.Side == Ours {
			return fmt.Sprintf("%s proposals do not match: this box accepts none of the remote device's. The device offered %s; this tunnel accepts %s%s",
				phase, list(e.Offered), list(e.Accepted), preset)
		}
		return fmt.Sprintf("%s proposals do not match: the remote device accepts none of this tunnel's (it answered NO_PROPOSAL_CHOSEN)", phase)
	case TrafficSelectors:
		if e.Side == Ours {
			return fmt.Sprintf("the networks do not match: the remote device proposed %s (this box === device), this tunnel has %s", e.ProposedTS, e.ConfiguredTS)
		}
		return fmt.Sprintf("the networks do not match: the remote device refused this tunnel's %s (TS_UNACCEPTABLE)", e.ConfiguredTS)
	case Identity:
		return fmt.Sprintf("identity mismatch: the remote device sent the ID %q, this tunnel expects %q", e.SentID, e.ExpectedID)
	case PSK:
		if e.SentID != "" {
			return fmt.Sprintf("wrong pre-shared key: the remote device's ID %q matched, but its key differs from this tunnel's", e.SentID)
		}
		return "wrong pre-shared key: the remote device's IKEv1 messages do not decrypt with this tunnel's key"
	case Auth:
		if want.Cert {
			return fmt.Sprintf("authentication failed: the remote device rejected this box's certificate or IDs; check that it trusts the CA that issued this box's certificate, and that it expects this box's identity (this tunnel expects the device's ID %q)", e.ExpectedID)
		}
		return fmt.Sprintf("authentication failed: the remote device rejected this box's pre-shared key or IDs (IKEv2 does not say which); this tunnel expects the device's ID %q", e.ExpectedID)
	case NoConfig:
		return fmt.Sprintf("the remote device at %s matches no tunnel on this address here", e.SentID)
	case AggressiveMode:
		return "the remote device uses IKEv1 aggressive mode, which this box refuses: with a pre-shared key, aggressive mode sends a hash of the key that anyone who sees it can crack offline. Set the device to main mode, or better to IKEv2"
	case CertInvalid, CertUntrusted, CertNoKey:
		return certSummary(e)
	}
	return ""
}
