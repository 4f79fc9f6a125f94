package webui

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/tunneler/tunneler/appliance/config"
)

// Every IPsec setting a tunnel and a profile share has a form field of
// the same name as its JSON field, so Validate's errors land next to it
// (mapErrors). Durations take Go's form (8h, 45m, 1h30m); what does not
// parse is kept as typed and Validate names it.

// ikeFields are the form fields of config.IKESettings.
var ikeFields = []string{"preset", "accept_weak_crypto", "ike_version", "local_id", "remote_id", "psk",
	"ike_proposals", "esp_proposals", "ike_lifetime", "child_lifetime", "dpd_delay", "dpd_timeout",
	"initiation", "force_udp_encap", "mobike", "reauth", "auth", "ca", "peer_cert"}

// decodeIKEForm reads the IPsec settings of a tunnel or profile form. An
// empty PSK field means "keep the stored key" (keepPSK); a typed key is
// taken exactly as typed (spaces may be part of a key).
func decodeIKEForm(v url.Values) (s config.IKESettings, keepPSK bool) {
	s = config.IKESettings{
		Preset:           field(v, "preset"),
		AcceptWeakCrypto: v.Get("accept_weak_crypto") == "on",
		IKEVersion:       config.IKEVersion(field(v, "ike_version")),
		LocalID:          field(v, "local_id"),
		RemoteID:         field(v, "remote_id"),
		IKEProposals:     lines(v.Get("ike_proposals")),
		ESPProposals:     lines(v.Get("esp_proposals")),
		IKELifetime:      duration(field(v, "ike_lifetime")),
		ChildLifetime:    duration(field(v, "child_lifetime")),
		DPDDelay:         duration(field(v, "dpd_delay")),
		DPDTimeout:       duration(field(v, "dpd_timeout")),
		Initiation:       config.Initiation(field(v, "initiation")),
		ForceUDPEncap:    v.Get("force_udp_encap") == "on",
		Reauth:           v.Get("reauth") == "on",
		Auth:             config.AuthMethod(field(v, "auth")),
		CA:               field(v, "ca"),
		PeerCert:         field(v, "peer_cert"),
	}
	switch field(v, "mobike") {
	case "on":
		s.MOBIKE = new(bool)
		*s.MOBIKE = true
	case "off":
		s.MOBIKE = new(bool)
	}
	if psk := v.Get("psk"); psk != "" {
		s.PSK = config.NewSecret(psk)
	} else {
		keepPSK = true
	}
	return s, keepPSK
}

// ikeToForm fills the IPsec fields; the PSK field stays empty.
func ikeToForm(v url.Values, s config.IKESettings) {
	v.Set("preset", s.Preset)
	if s.AcceptWeakCrypto {
		v.Set("accept_weak_crypto", "on")
	}
	v.Set("ike_version", string(s.IKEVersion))
	v.Set("local_id", s.LocalID)
	v.Set("remote_id", s.RemoteID)
	v.Set("ike_proposals", strings.Join(s.IKEProposals, "\n"))
	v.Set("esp_proposals", strings.Join(s.ESPProposals, "\n"))
	for name, d := range map[string]config.Duration{"ike_lifetime": s.IKELifetime, "child_lifetime": s.ChildLifetime,
		"dpd_delay": s.DPDDelay, "dpd_timeout": s.DPDTimeout} {
		if !d.IsZero() {
			v.Set(name, d.String())
		}
	}
	v.Set("initiation", string(s.Initiation))
	v.Set("auth", string(s.Auth))
	v.Set("ca", s.CA)
	v.Set("peer_cert", s.PeerCert)
	if s.ForceUDPEncap {
		v.Set("force_udp_encap", "on")
	}
	if s.Reauth {
		v.Set("reauth", "on")
	}
	if s.MOBIKE != nil {
		v.Set("mobike", map[bool]string{true: "on", false: "off"}[*s.MOBIKE])
	}
}

// duration reads a duration leniently, as a document does: text that is
// not one is kept for Validate to name.
func duration(s string) config.Duration {
	var d config.Duration
	d.UnmarshalText([]byte(s)) // never fails: bad text is kept
	return d
}

// ifID reads an xfrm interface id; ok is false for text that is not one.
func ifID(s string) (id uint32, ok bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}
