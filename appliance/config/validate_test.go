package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValidateAcceptsGoodDocuments(t *testing.T) {
	on := false
	for name, c := range map[string]Config{
		"full":  validConfig(),
		"empty": {}, // setup mode: nothing configured yet
		"minimal tunnel": {Version: CurrentVersion, Tunnels: []Tunnel{{
			Name: "a", PeerAddress: "vpn.example.com", IKESettings: IKESettings{PSK: NewSecret(strongPSK1)},
			RemoteNetworks: []Prefix{MustPrefix("10.0.0.0/8")},
		}}},
		"ikev1 with defaults": {Version: CurrentVersion, Tunnels: []Tunnel{{
			Name: "v1", PeerAddress: "203.0.113.9",
			RemoteNetworks: []Prefix{MustPrefix("10.0.0.0/8")},
			IKESettings: IKESettings{
				IKEVersion: IKEv1, PSK: NewSecret(strongPSK1),
				Preset: "pfsense", MOBIKE: &on,
			},
		}}},
		"route mode with 0/0 selectors": {Version: CurrentVersion, Tunnels: []Tunnel{{
			Name: "r", PeerAddress: "2001:db8::1", IKESettings: IKESettings{PSK: NewSecret(strongPSK1)}, Mode: ModeRoute, IfID: 42,
			LocalNetworks: []Prefix{MustPrefix("0.0.0.0/0")}, RemoteNetworks: []Prefix{MustPrefix("0.0.0.0/0")},
			Routes: []Prefix{MustPrefix("10.20.0.0/16")},
		}}},
		"custom intercept range": {Version: CurrentVersion, Router: Router{InterceptRange: MustPrefix("10.99.0.0/24")}, Tunnels: []Tunnel{{
			Name: "c", PeerAddress: "203.0.113.9", IKESettings: IKESettings{PSK: NewSecret(strongPSK1)},
			RemoteNetworks: []Prefix{MustPrefix("10.1.0.0/16")},
		}}},
	} {
		if errs := c.Validate(); errs != nil {
			t.Errorf("%s: Validate() = %v, want no problems", name, errs)
		}
	}
}

// TestValidateReportsEverything checks that one pass names every problem,
// so an operator fixing a form is not sent back once per mistake.
func TestValidateReportsEverything(t *testing.T) {
	c := validConfig()
	c.System.Hostname = "bad_name"
	c.Interfaces[0].Gateway = ParseAddr("x")
	c.Tunnels[0].PSK = NewSecret("password")
	c.Tunnels[0].RemoteNetworks[1] = ParsePrefix("10.2.0.0/40")
	c.Tunnels[1].Name = "site-a"
	c.Tunnels[1].ESPProposals = []string{"3des-md5"}
	got := c.Validate()
	var fields []string
	for _, e := range got {
		fields = append(fields, e.Field)
	}
	want := []string{
		"system.hostname",
		"interfaces[0].gateway",
		"tunnels[0].remote_networks[1]",
		"tunnels[0].psk",
		"tunnels[1].name",
		"tunnels[1].esp_proposals[0]",
	}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("fields with problems (-want +got):\n%s\nall: %v", diff, got)
	}
	if err := got.Err(); err == nil || !strings.HasPrefix(err.Error(), "6 problems: system.hostname: ") {
		t.Errorf("Err() = %v", err)
	}
	if err := FieldErrors(nil).Err(); err != nil {
		t.Errorf("nil FieldErrors.Err() = %v, want nil", err)
	}
}

func TestWithDefaults(t *testing.T) {
	in := Config{Tunnels: []Tunnel{{Name: "a", PeerAddress: "203.0.113.5", RemoteNetworks: []Prefix{MustPrefix("10.0.0.0/8")}}}}
	got := in.WithDefaults()
	on := true
	want := Config{
		Version: CurrentVersion,
		System:  System{Hostname: DefaultHostname},
		Interfaces: []Interface{
			{Role: RoleWAN, Mode: ModeDHCP},
			{Role: RoleLAN, Mode: ModeDHCP},
		},
		Router: Router{IdentityPath: DefaultIdentityPath, InterceptRange: MustPrefix("100.64.0.0/10"), InsideAddress: MustAddr("100.64.0.1")},
		Tunnels: []Tunnel{{
			Name: "a", PeerAddress: "203.0.113.5",
			LocalNetworks:  []Prefix{MustPrefix("100.64.0.0/10")},
			RemoteNetworks: []Prefix{MustPrefix("10.0.0.0/8")},
			Mode:           ModePolicy,
			IKESettings: IKESettings{
				IKEVersion: IKEv2, RemoteID: "203.0.113.5",
				IKEProposals: []string{"aes256gcm16-prfsha256-ecp256", "aes256gcm16-prfsha384-ecp384", "aes256gcm16-prfsha256-x25519", "aes256-sha256-modp2048"},
				ESPProposals: []string{"aes256gcm16-ecp256", "aes256gcm16-ecp384", "aes256gcm16-x25519", "aes256-sha256-modp2048"},
				IKELifetime:  Dur(3 * time.Hour), ChildLifetime: Dur(50 * time.Minute),
				DPDDelay: Dur(30 * time.Second), DPDTimeout: Dur(150 * time.Second),
				Initiation: Initiator, MOBIKE: &on,
			},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithDefaults() (-want +got):\n%s", diff)
	}
	// The input must be untouched: callers keep what the operator wrote.
	if in.Tunnels[0].LocalNetworks != nil || in.Version != 0 {
		t.Errorf("WithDefaults changed its receiver: %+v", in)
	}
	if LANFallback.String() != "192.168.77.1/24" {
		t.Errorf("LANFallback = %v; the documented fallback is 192.168.77.1/24", LANFallback)
	}
}

func TestDefaultsFollowCustomRangeAndIKEv1(t *testing.T) {
	c := Config{
		Router:  Router{InterceptRange: MustPrefix("10.99.0.0/24")},
		Tunnels: []Tunnel{{IKESettings: IKESettings{IKEVersion: IKEv1}, Mode: ModeRoute, RemoteNetworks: []Prefix{MustPrefix("10.1.0.0/16")}}},
	}.WithDefaults()
	if got := c.Router.InsideAddress; got != MustAddr("10.99.0.1") {
		t.Errorf("inside address = %v, want the first address of the custom range", got)
	}
	tun := c.Tunnels[0]
	if diff := cmp.Diff([]string{"aes256-sha256-modp2048"}, tun.IKEProposals); diff != "" {
		t.Errorf("IKEv1 default IKE proposals (no AEAD) (-want +got):\n%s", diff)
	}
	if *tun.MOBIKE {
		t.Error("MOBIKE defaults to on for IKEv1")
	}
	if diff := cmp.Diff(tun.RemoteNetworks, tun.Routes); diff != "" {
		t.Errorf("route mode routes default to the remote networks (-want +got):\n%s", diff)
	}
}

func TestPresetsPassTheAllowlist(t *testing.T) {
	for name, p := range presets {
		for _, v := range []IKEVersion{IKEv2, IKEv1} {
			c := Config{Tunnels: []Tunnel{{
				Name: "p", PeerAddress: "203.0.113.1",
				RemoteNetworks: []Prefix{MustPrefix("10.0.0.0/8")},
				IKESettings: IKESettings{
					IKEVersion: v, Preset: name, AcceptWeakCrypto: name == LegacyPreset,
					PSK: NewSecret(strongPSK1),
				},
			}}}
			if errs := c.Validate(); errs != nil {
				t.Errorf("preset %q with %s: %v", name, v, errs)
			}
		}
		if p.ChildLifetime >= time.Hour || p.IKELifetime >= 4*time.Hour {
			t.Errorf("preset %q lifetimes %v/%v are not below common peer defaults (1h/4h)", name, p.ChildLifetime, p.IKELifetime)
		}
	}
}

func TestPSKStrength(t *testing.T) {
	for _, good := range []string{
		strongPSK1,
		"Tr0ub4dor&3-Horse-Battery-Staple!", // words, but mixed and long
		"kdjfhgqpwoeiruty zmxncbvlaskdjf 7",
		"kdjfhgqpwoeirutyzmxncbvlaskdjfhgqp", // one class is fine when long
	} {
		if msg := pskWeakness(good); msg != "" {
			t.Errorf("pskWeakness(%q) = %q, want accepted", good, msg)
		}
	}
	for _, weak := range []string{
		"", "9fK2-xQ8m_Lw3zP7", "aaaaaaaaaaaaaaaaaaaaaaaa", "Password123Password123",
		"qwertyuiopasdfghjklzxcvbnm", "01234567890123456789", "CiscoVPNsecret!2024xx",
	} {
		if pskWeakness(weak) == "" {
			t.Errorf("pskWeakness(%q) accepted a weak key", weak)
		}
	}
}

func TestGeneratePSK(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		k := GeneratePSK().Reveal()
		if len(k) != 32 {
			t.Fatalf("len(GeneratePSK()) = %d, want 32", len(k))
		}
		if strings.Trim(k, pskAlphabet) != "" {
			t.Fatalf("GeneratePSK() = %q has characters outside the URL-safe alphabet", k)
		}
		if msg := pskWeakness(k); msg != "" {
			t.Fatalf("GeneratePSK() = %q is rejected by the strength check: %s", k, msg)
		}
		if seen[k] {
			t.Fatalf("GeneratePSK() repeated %q", k)
		}
		seen[k] = true
	}
}
