package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestIKESettingsValidatedAlike breaks the IKE settings of a tunnel and of
// a profile the same way: both get the same message under their own path.
func TestIKESettingsValidatedAlike(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*IKESettings)
		field  string // under tunnels[0] and profiles[0]
		msg    string // {what} is "tunnel" or "profile"
	}{
		{"unknown preset", func(s *IKESettings) { s.Preset = "cisco-asa" },
			"preset", `"cisco-asa" is not a known preset; use one of ` + presetNames()},
		{"unknown IKE version", func(s *IKESettings) { s.IKEVersion = "ikev3" },
			"ike_version", `"ikev3" is not an IKE version; it must be ikev2 or ikev1`},
		{"local id of spaces", func(s *IKESettings) { s.LocalID = "   " },
			"local_id", "is only spaces; an identity must be 1 to 255 characters of text"},
		{"remote id with a control character", func(s *IKESettings) { s.RemoteID = "fw\x07.example.com" },
			"remote_id", "contains a control character"},
		{"weak key", func(s *IKESettings) { s.PSK = NewSecret("secretsecret") },
			"psk", pskWeakness("secretsecret")},
		{"placeholder key with nothing stored", func(s *IKESettings) { s.PSK = Secret{hidden: true} },
			"psk", `is "` + Hidden + `", a placeholder for the stored key, but there is no stored key to keep`},
		{"broken ESP proposal", func(s *IKESettings) { s.ESPProposals = []string{"aes256gcm16-ecp384", "3des-md5"} },
			"esp_proposals[1]", `"3des-md5" uses 3des: 3DES has a 64-bit block (Sweet32)`},
		{"too many ESP proposals", func(s *IKESettings) {
			s.ESPProposals = nil
			for range maxProposals + 1 {
				s.ESPProposals = append(s.ESPProposals, "aes256gcm16-ecp384")
			}
		}, "esp_proposals", "has 17 entries; at most 16 are allowed"},
		{"AEAD IKE proposal with IKEv1", func(s *IKESettings) {
			s.IKEVersion, s.MOBIKE = IKEv1, nil
			s.IKEProposals = []string{"aes256gcm16-prfsha384-ecp384"}
		}, "ike_proposals[0]", `"aes256gcm16-prfsha384-ecp384" uses an AEAD cipher, which IKEv1 cannot use for IKE; use e.g. aes256-sha256-modp2048`},
		{"IKE lifetime too short", func(s *IKESettings) { s.IKELifetime = Dur(5 * time.Minute) },
			"ike_lifetime", "5m is outside the range 10m to 24h"},
		{"child lifetime not a duration", func(s *IKESettings) { s.ChildLifetime = Duration{text: "an hour"} },
			"child_lifetime", `"an hour" is not a duration (like 50m, 3h or 1h30m)`},
		{"DPD timeout not longer than the delay", func(s *IKESettings) {
			s.DPDDelay, s.DPDTimeout = Dur(time.Minute), Dur(30*time.Second)
		}, "dpd_timeout", "30s must be longer than dpd_delay (1m)"},
		{"unknown initiation", func(s *IKESettings) { s.Initiation = "both" },
			"initiation", `"both" must be initiator or responder`},
		{"MOBIKE with IKEv1", func(s *IKESettings) {
			on := true
			s.IKEVersion, s.MOBIKE = IKEv1, &on
		}, "mobike", "needs IKEv2; turn it off for an IKEv1 {what}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validSiteConfig()
			tc.mutate(&c.Tunnels[0].IKESettings)
			tc.mutate(&c.Profiles[0].IKESettings)
			want := FieldErrors{
				{"tunnels[0]." + tc.field, strings.ReplaceAll(tc.msg, "{what}", "tunnel")},
				{"profiles[0]." + tc.field, strings.ReplaceAll(tc.msg, "{what}", "profile")},
			}
			if diff := cmp.Diff(want, c.Validate()); diff != "" {
				t.Errorf("Validate() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIKESettingsStayInline shows that embedding IKESettings left the
// document as it was: its fields are written and read next to a tunnel's
// and a profile's own, and "IKESettings" is no key of the document.
func TestIKESettingsStayInline(t *testing.T) {
	ike := `"preset": "fortigate", "ike_version": "ikev1", "local_id": "box.example.com",
		"remote_id": "fw.example.com", "psk": "%s",
		"ike_proposals": ["aes256-sha256-modp2048"], "esp_proposals": ["aes256-sha256"],
		"ike_lifetime": "4h", "child_lifetime": "45m", "dpd_delay": "20s", "dpd_timeout": "2m",
		"initiation": "responder", "force_udp_encap": true, "mobike": false, "reauth": true`
	doc := `{"version": 3,
		"tunnels": [{"name": "hq", "peer_address": "203.0.113.7", "remote_networks": ["10.8.0.0/16"],
			` + strings.Replace(ike, "%s", strongPSK1, 1) + `}],
		"profiles": [{"name": "forti", ` + strings.Replace(ike, "%s", strongPSK3, 1) + `}]}`
	c, err := Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	off := false
	want := IKESettings{
		Preset: "fortigate", IKEVersion: IKEv1, LocalID: "box.example.com", RemoteID: "fw.example.com",
		IKEProposals: []string{"aes256-sha256-modp2048"}, ESPProposals: []string{"aes256-sha256"},
		IKELifetime: Dur(4 * time.Hour), ChildLifetime: Dur(45 * time.Minute),
		DPDDelay: Dur(20 * time.Second), DPDTimeout: Dur(2 * time.Minute),
		Initiation: Responder, ForceUDPEncap: true, MOBIKE: &off, Reauth: true,
	}
	for what, got := range map[string]IKESettings{"tunnel": c.Tunnels[0].IKESettings, "profile": c.Profiles[0].IKESettings} {
		if got.PSK.IsZero() {
			t.Errorf("%s: the PSK was not read", what)
		}
		got.PSK = Secret{}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s settings (-want +got):\n%s", what, diff)
		}
	}
	if errs := c.Validate(); errs != nil {
		t.Fatalf("Validate: %v", errs)
	}

	// Written again, each object has the keys it was read with, flat.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var in, out struct {
		Tunnels, Profiles []map[string]any
	}
	if err := json.Unmarshal([]byte(doc), &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for _, o := range append(in.Tunnels, in.Profiles...) {
		delete(o, "psk") // written as the placeholder
	}
	for _, o := range append(out.Tunnels, out.Profiles...) {
		if o["psk"] != Hidden {
			t.Errorf("psk written as %v, want the placeholder", o["psk"])
		}
		delete(o, "psk")
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("document written again (-read +written):\n%s", diff)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode of the written document: %v", err)
	}
	if diff := cmp.Diff(c, back.KeepSecrets(c)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	// The Go name of the embedded struct is no key of the document.
	_, err = Decode([]byte(`{"version": 3, "profiles": [{"name": "p", "IKESettings": {"preset": "fortigate"}}]}`))
	if err == nil || !strings.Contains(err.Error(), `profiles[0].IKESettings: is not a known field`) {
		t.Errorf("Decode with an IKESettings key: %v", err)
	}
}
