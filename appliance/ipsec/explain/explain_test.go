package explain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tunneler/tunneler/appliance/config"
)

// presets are the box's own, so a preset change that stops matching a
// device's offer shows here.
func presets() map[string]Preset {
	out := map[string]Preset{}
	for _, n := range config.PresetNames() {
		p, _ := config.LookupPreset(n)
		out[n] = Preset{IKE: p.IKE, ESP: p.ESP, Weak: n == config.LegacyPreset}
	}
	return out
}

var want = Expect{RemoteID: "192.0.2.2", LocalTS: []string{"100.64.0.0/10"}, RemoteTS: []string{"10.9.0.0/24"}}

// The logs in testdata are charon 5.9.8's own (Debian bookworm), made by
// testdata/scenarios.sh: the box (192.0.2.1, the tunnel site-a with the
// default preset) against a stock strongSwan peer (192.0.2.2) in network
// namespaces. "-resp" means the device initiated, "-init" the box did.
func TestExplainRealLogs(t *testing.T) {
	want := want
	want.Presets = presets()
	tests := []struct {
		log     string
		want    Explanation
		summary []string // fragments the summary must hold
	}{
		{"ike-resp.log", Explanation{Kind: IKEProposals, Side: Ours,
			Offered:  []string{"IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"},
			Accepted: []string{"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384", "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519", "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"},
			Preset:   "legacy", PresetWeak: true, NAT: []string{"remote host is behind NAT"}},
			[]string{"this box accepts none of the remote device's", "offered IKE:AES_CBC_128/HMAC_SHA1_96", `only with the "legacy" preset and the weak-crypto acknowledgment`}},
		{"ike-init.log", Explanation{Kind: IKEProposals, Side: Theirs}, []string{"IKE (phase 1)", "the remote device accepts none of this tunnel's"}},
		{"esp-resp.log", Explanation{Kind: ESPProposals, Side: Ours,
			Offered:  []string{"ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ"},
			Accepted: []string{"ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ", "ESP:AES_GCM_16_256/CURVE_25519/NO_EXT_SEQ", "ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ"},
			Preset:   "legacy", PresetWeak: true, NAT: []string{"remote host is behind NAT"}},
			[]string{"ESP (phase 2)", "this box accepts none"}},
		{"esp-init.log", Explanation{Kind: ESPProposals, Side: Theirs, NAT: []string{"remote host is behind NAT"}}, []string{"ESP (phase 2)", "the remote device accepts none"}},
		// The libreswan case of issue 16: an IKEv1 device offers SHA-1 ESP
		// to a box that responds. The box refuses, not the device.
		{"v1-esp-resp.log", Explanation{Kind: ESPProposals, Side: Ours,
			Offered:  []string{"ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/NO_EXT_SEQ"},
			Accepted: []string{"ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ", "ESP:AES_GCM_16_256/CURVE_25519/NO_EXT_SEQ", "ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ"},
			Preset:   "legacy", PresetWeak: true, NAT: []string{"remote host is behind NAT"},
			VendorIDs: []string{"XAuth", "DPD", "FRAGMENTATION", "NAT-T (RFC 3947)", "draft-ietf-ipsec-nat-t-ike-02"}},
			[]string{"ESP (phase 2) proposals do not match: this box accepts none of the remote device's", "HMAC_SHA1_96", `"legacy" preset`}},
		{"v1-ike-resp.log", Explanation{Kind: IKEProposals, Side: Ours,
			Offered:  []string{"IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"},
			Accepted: []string{"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384", "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519", "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"},
			Preset:   "legacy", PresetWeak: true,
			VendorIDs: []string{"XAuth", "DPD", "FRAGMENTATION", "NAT-T (RFC 3947)", "draft-ietf-ipsec-nat-t-ike-02"}},
			[]string{"IKE (phase 1)", "this box accepts none"}},
		{"v1-ike-init.log", Explanation{Kind: IKEProposals, Side: Theirs}, []string{"the remote device accepts none"}},
		{"v1-esp-init.log", Explanation{Kind: ESPProposals, Side: Theirs, NAT: []string{"remote host is behind NAT"},
			VendorIDs: []string{"XAuth", "DPD", "FRAGMENTATION", "NAT-T (RFC 3947)"}}, []string{"ESP (phase 2)", "the remote device accepts none"}},
		{"ts-resp.log", Explanation{Kind: TrafficSelectors, Side: Ours, ProposedTS: "100.64.0.0/10 === 10.8.0.0/24",
			ConfiguredTS: "100.64.0.0/10 === 10.9.0.0/24", NAT: []string{"remote host is behind NAT"}},
			[]string{"proposed 100.64.0.0/10 === 10.8.0.0/24", "this tunnel has 100.64.0.0/10 === 10.9.0.0/24"}},
		{"ts-init.log", Explanation{Kind: TrafficSelectors, Side: Theirs, ConfiguredTS: "100.64.0.0/10 === 10.9.0.0/24",
			NAT: []string{"remote host is behind NAT"}}, []string{"refused this tunnel's 100.64.0.0/10 === 10.9.0.0/24"}},
		{"id-resp.log", Explanation{Kind: Identity, Side: Ours, SentID: "wrong.example.net", ExpectedID: "192.0.2.2",
			NAT: []string{"remote host is behind NAT"}}, []string{`sent the ID "wrong.example.net"`, `expects "192.0.2.2"`}},
		// IKEv2 answers a wrong ID and a wrong key alike toward the initiator.
		{"id-init.log", Explanation{Kind: Auth, Side: Theirs, ExpectedID: "192.0.2.2", NAT: []string{"remote host is behind NAT"}}, []string{"key or IDs"}},
		{"psk-init.log", Explanation{Kind: Auth, Side: Theirs, ExpectedID: "192.0.2.2", NAT: []string{"remote host is behind NAT"}}, []string{"key or IDs"}},
		// As responder the box tells them apart: the ID matched, the MAC did not.
		{"psk-resp.log", Explanation{Kind: PSK, Side: Ours, SentID: "192.0.2.2", ExpectedID: "192.0.2.2",
			NAT: []string{"remote host is behind NAT"}}, []string{"wrong pre-shared key", `ID "192.0.2.2" matched`}},
		{"v1-psk-resp.log", Explanation{Kind: PSK, Side: Ours, ExpectedID: "192.0.2.2", NAT: []string{"remote host is behind NAT"},
			VendorIDs: []string{"XAuth", "DPD", "FRAGMENTATION", "NAT-T (RFC 3947)", "draft-ietf-ipsec-nat-t-ike-02"}},
			[]string{"IKEv1 messages do not decrypt"}},
		{"vid-resp.log", Explanation{NAT: []string{"remote host is behind NAT"}, VendorIDs: []string{"strongSwan"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.log, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.log))
			if err != nil {
				t.Fatal(err)
			}
			got := Explain(strings.Split(string(b), "\n"), want)
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Explanation{}, "Summary")); diff != "" {
				t.Errorf("Explain (-want +got):\n%s", diff)
			}
			for _, f := range tc.summary {
				if !strings.Contains(got.Summary, f) {
					t.Errorf("summary %q lacks %q", got.Summary, f)
				}
			}
			if len(tc.summary) == 0 && got.Summary != "" {
				t.Errorf("summary %q for a log without a failure", got.Summary)
			}
		})
	}
}

// A preset is named when the device offers what one of the presets has
// (here the Cisco preset's ECP-256 set, which the default lacks).
func TestExplainNamesPreset(t *testing.T) {
	want := want
	want.Presets = presets()
	lines := []string{
		"07[CFG] <1> received proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256",
		"07[CFG] <1> configured proposals: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
		"07[IKE] <1> received proposals unacceptable",
	}
	got := Explain(lines, want)
	if got.Preset != "cisco-ios" || !strings.Contains(got.Summary, `the preset "cisco-ios" would match`) {
		t.Errorf("preset %q, summary %q; want cisco-ios named", got.Preset, got.Summary)
	}
}

// The legacy preset also holds strong proposals; a device that offers one
// of those is pointed at a strong preset, never at the weak one, even
// when the weak one sorts first.
func TestExplainWeakPresetLast(t *testing.T) {
	want := want
	want.Presets = map[string]Preset{
		"legacy":     {IKE: []string{"aes256-sha256-modp2048", "aes128-sha1-modp1024"}, Weak: true},
		"zz-strong":  {IKE: []string{"aes256-sha256-modp2048"}},
		"aa-nothing": {IKE: []string{"aes256gcm16-prfsha384-ecp384"}},
	}
	for _, tc := range []struct {
		offer, preset string
		weak          bool
	}{
		{"IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", "zz-strong", false},
		{"IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024", "legacy", true},
	} {
		got := Explain([]string{"07[CFG] <1> received proposals: " + tc.offer, "07[IKE] <1> received proposals unacceptable"}, want)
		if got.Preset != tc.preset || got.PresetWeak != tc.weak {
			t.Errorf("offer %s: preset %q (weak %v), want %q (weak %v)", tc.offer, got.Preset, got.PresetWeak, tc.preset, tc.weak)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		a, b string
		ike  bool
		want bool
	}{
		{"IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", "aes256-sha256-modp2048", true, true},
		{"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384", "aes256gcm16-prfsha384-ecp384", true, true},
		{"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384", "aes256gcm16-prfsha256-ecp384", true, false},
		{"IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024", "aes256-sha256-modp2048", true, false},
		{"IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024", "aes128-sha1-modp1024", true, true},
		{"ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ", "aes256-sha256-modp2048", false, true},
		{"ESP:AES_GCM_16_256/NO_EXT_SEQ", "aes256gcm16-ecp384", false, true},
		{"ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ", "aes256-sha256", false, false},
	}
	for _, tc := range tests {
		if got := Match(tc.a, tc.b, tc.ike); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// Log lines carry what the remote device sent (its ID, its proposals):
// nothing in them may make Explain panic.
func FuzzExplain(f *testing.F) {
	for _, l := range []string{
		"15[CFG] <1> looking for peer configs matching 192.0.2.1[192.0.2.1]...192.0.2.2[wrong.example.net]",
		"received proposals: IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
		"received draft-ietf-ipsec-nat-t-ike-02\\n vendor ID",
		"tried 1 shared key for 'a' - 'b', but MAC mismatched",
		"traffic selectors 100.64.0.0/10 === 10.8.0.0/24 unacceptable",
	} {
		f.Add(l, "received proposals unacceptable")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		Explain([]string{a, b, "no matching peer config found"}, Expect{Presets: presets()})
		Match(a, b, true)
		Match(a, b, false)
	})
}

// An IKEv1 device in aggressive mode with a PSK is refused by charon
// after the proposals matched; the box says it was the mode, in plain
// words, and not a key or proposal problem. (The system test
// TestRemoteDeviceVM/AggressiveModeRefused shows it against libreswan.)
func TestExplainAggressiveMode(t *testing.T) {
	lines := []string{
		"14[NET] <3> received packet: from 192.0.2.11[500] to 192.0.2.10[500] (384 bytes)",
		"14[ENC] <3> parsed AGGRESSIVE request 0 [ SA KE No ID V V V V ]",
		"14[IKE] <3> received DPD vendor ID",
		"14[CFG] <3> selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
		"14[CFG] <3> looking for pre-shared key peer configs matching 192.0.2.10...192.0.2.11[192.0.2.11]",
		"14[CFG] <aggr|3> selected peer config \"aggr\"",
		"14[IKE] <aggr|3> Aggressive Mode PSK disabled for security reasons",
		"14[ENC] <aggr|3> generating INFORMATIONAL_V1 request 2862 [ N(AUTH_FAILED) ]",
	}
	got := Explain(lines, want)
	if got.Kind != AggressiveMode || got.Side != Ours {
		t.Errorf("kind %q side %q; want %q %q", got.Kind, got.Side, AggressiveMode, Ours)
	}
	for _, f := range []string{"aggressive mode", "refuses", "main mode"} {
		if !strings.Contains(got.Summary, f) {
			t.Errorf("summary %q lacks %q", got.Summary, f)
		}
	}
}
