package config

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// awsCompat is the tunnel an AWS "compatibility" sample configuration and
// many older firewalls describe: IKEv1 main mode, AES-128, SHA-1, group 2.
func awsCompat(preset string, ack bool) Config {
	return Config{Tunnels: []Tunnel{{
		Name: "aws", PeerAddress: "203.0.113.9",
		RemoteNetworks: []Prefix{MustPrefix("10.9.0.0/16")},
		IKESettings: IKESettings{
			IKEVersion: IKEv1, Preset: preset, AcceptWeakCrypto: ack, PSK: NewSecret(strongPSK1),
			IKEProposals: []string{"aes128-sha1-modp1024"},
			ESPProposals: []string{"aes128-sha1-modp1024"},
		},
	}}}
}

func TestLegacyPreset(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       Config
		errs    []string // fields with an error, in order
		mention string   // what the first error must say
		weak    bool
	}{
		{name: "AWS-style with preset and acknowledgment", c: awsCompat(LegacyPreset, true), weak: true},
		{name: "AWS-style without preset names it", c: awsCompat("", false),
			errs:    []string{"tunnels[0].ike_proposals[0]", "tunnels[0].esp_proposals[0]"},
			mention: `accepted only with the "legacy" preset and the weak-crypto acknowledgment (accept_weak_crypto; IPSEC_LEGACY=yes`},
		{name: "AWS-style with preset, no acknowledgment", c: awsCompat(LegacyPreset, false),
			errs: []string{"tunnels[0].accept_weak_crypto"}, mention: "must be true to use the \"legacy\" preset"},
		{name: "legacy preset's own proposals (IKEv2)", weak: true, c: func() Config {
			c := awsCompat(LegacyPreset, true)
			c.Tunnels[0].IKEVersion, c.Tunnels[0].IKEProposals, c.Tunnels[0].ESPProposals = IKEv2, nil, nil
			return c
		}()},
		{name: "libreswan IKEv1 defaults' phase 2 (AES-128, SHA-1, MODP-2048)", weak: true, c: func() Config {
			c := awsCompat(LegacyPreset, true)
			c.Tunnels[0].IKEProposals, c.Tunnels[0].ESPProposals = nil, []string{"aes128-sha1-modp2048"}
			return c
		}()},
		{name: "group 5", weak: true, c: func() Config {
			c := awsCompat(LegacyPreset, true)
			c.Tunnels[0].IKEProposals = []string{"aes256-sha1-modp1536"}
			return c
		}()},
		{name: "legacy preset with strong proposals only is not weak", c: func() Config {
			c := awsCompat(LegacyPreset, true)
			c.Tunnels[0].IKEProposals, c.Tunnels[0].ESPProposals = []string{"aes256-sha256-modp2048"}, []string{"aes256-sha256-modp2048"}
			return c
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.c.Validate()
			var fields []string
			for _, e := range errs {
				fields = append(fields, e.Field)
			}
			if !slices.Equal(fields, tc.errs) {
				t.Fatalf("error fields = %q, want %q (errors: %v)", fields, tc.errs, errs)
			}
			if tc.mention != "" && !strings.Contains(errs[0].Message, tc.mention) {
				t.Errorf("error %q does not say %q", errs[0].Message, tc.mention)
			}
			if len(errs) > 0 {
				return
			}
			if got := tc.c.WithDefaults().Tunnels[0].WeakCrypto(); got != tc.weak {
				t.Errorf("WeakCrypto() = %v, want %v", got, tc.weak)
			}
		})
	}
}

// TestDefaultsStayStrong: no preset but the legacy one brings a weak
// algorithm, and every preset's ESP proposals carry a DH group, so the
// box's own CHILD_SA rekeys always have PFS.
func TestDefaultsStayStrong(t *testing.T) {
	for name, p := range presets {
		if name != LegacyPreset && (IKESettings{Preset: name}).WeakCrypto() {
			t.Errorf("preset %q allows weak crypto", name)
		}
		for _, e := range p.ESP {
			if !slices.ContainsFunc(strings.Split(e, "-"), func(part string) bool { return allowed[part] == algDH || legacyOnly[part] == algDH }) {
				t.Errorf("preset %q: ESP proposal %q has no DH group (no PFS)", name, e)
			}
		}
		for _, list := range [][]string{p.IKE, p.ESP} {
			for _, prop := range list {
				for _, never := range []string{"des", "3des", "md5", "prfmd5"} {
					if slices.Contains(strings.Split(prop, "-"), never) {
						t.Errorf("preset %q: %q uses %s", name, prop, never)
					}
				}
			}
		}
	}
	if !(IKESettings{Preset: LegacyPreset}).WeakCrypto() {
		t.Error("the legacy preset's own proposals are not counted as weak crypto")
	}
}

// TestFirstKEGuess: charon sends its KE payload for the first DH group of
// the first IKE proposal. That proposal must be one every kind of peer
// accepts with its stock settings, or the peer answers INVALID_KE_PAYLOAD
// (libreswan did, asking for x25519, while the box led with
// prfsha384-ecp384, a PRF libreswan's defaults lack).
func TestFirstKEGuess(t *testing.T) {
	peers := []struct {
		name        string
		prfs, group []string
	}{
		// ipsec.conf(5) "ike=": IKEv2 defaults PRF SHA2_512, SHA2_256.
		{"libreswan defaults", []string{"prfsha512", "prfsha256"}, []string{"ecp256", "ecp384", "ecp521", "x25519", "modp2048", "modp3072", "modp4096", "modp8192"}},
		{"strongSwan defaults", []string{"prfsha256", "prfsha384", "prfsha512"}, []string{"ecp256", "ecp384", "ecp521", "x25519", "modp2048", "modp3072", "modp4096"}},
		{"AWS (groups 2, 5, 14-24)", []string{"prfsha256", "prfsha384", "prfsha512"}, []string{"modp2048", "ecp256", "ecp384", "ecp521"}},
		{"Azure VPN gateway", []string{"prfsha256", "prfsha384"}, []string{"modp2048", "ecp256", "ecp384"}},
		{"Juniper SRX", []string{"prfsha256", "prfsha384"}, []string{"modp2048", "ecp256", "ecp384"}},
	}
	for _, name := range []string{"", "strongswan"} {
		first := strings.Split(presets[name].IKE[0], "-")
		for _, peer := range peers {
			if !slices.ContainsFunc(first, func(s string) bool { return slices.Contains(peer.prfs, s) }) ||
				!slices.ContainsFunc(first, func(s string) bool { return slices.Contains(peer.group, s) }) {
				t.Errorf("preset %q leads with %q, which %s does not take: its KE guess costs a round trip", name, presets[name].IKE[0], peer.name)
			}
		}
	}
}

// The preset and its acknowledgment are plain fields of a tunnel: a
// version 2 or 3 document carries them (no new version, so a document
// without them is what older firmware reads), and they survive a round
// trip through Encode.
func TestLegacyFieldsDecode(t *testing.T) {
	for _, version := range []string{"2", "3"} {
		doc := `{"version": ` + version + `, "tunnels": [{"name": "aws", "peer_address": "203.0.113.9",
			"remote_networks": ["10.9.0.0/16"], "psk": "` + strongPSK1 + `", "ike_version": "ikev1",
			"preset": "legacy", "accept_weak_crypto": true, "ike_proposals": ["aes128-sha1-modp1024"]}]}`
		c, err := Decode([]byte(doc))
		if err != nil {
			t.Fatalf("version %s: %v", version, err)
		}
		if errs := c.Validate(); errs != nil {
			t.Errorf("version %s: %v", version, errs)
		}
		if tun := c.Tunnels[0]; tun.Preset != LegacyPreset || !tun.AcceptWeakCrypto || !tun.WeakCrypto() {
			t.Errorf("version %s: decoded %+v", version, tun.IKESettings)
		}
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), `"accept_weak_crypto":true`) {
			t.Errorf("the acknowledgment is lost on encoding: %s", data)
		}
	}
	plain, _ := json.Marshal(awsCompat("", false))
	if strings.Contains(string(plain), "accept_weak_crypto") || strings.Contains(string(plain), "preset") {
		t.Errorf("a tunnel without the preset writes its fields: %s", plain)
	}
}
