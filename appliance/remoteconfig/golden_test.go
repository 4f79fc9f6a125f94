package remoteconfig

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*/*.golden from the exports")

const testPSK = "Zt4-Kq8wMe3rVy6uXp5nLs9dGf2"

// testTunnels are the tunnels every export is checked with: the defaults
// an operator gets (IKEv2), and an old device on the legacy preset (IKEv1,
// SHA-1 and groups 2/5, FQDN identities, the box responding, its own
// lifetimes and DPD).
func testTunnels(t testing.TB) map[string]config.Tunnel {
	t.Helper()
	c := config.Config{Tunnels: []config.Tunnel{
		{Name: "hq", PeerAddress: "203.0.113.10",
			RemoteNetworks: []config.Prefix{config.MustPrefix("10.20.0.0/24"), config.MustPrefix("10.21.0.0/24")},
			IKESettings:    config.IKESettings{PSK: config.NewSecret(testPSK)}},
		{Name: "aws", PeerAddress: "198.51.100.20", LocalAddress: config.MustAddr("192.0.2.10"),
			RemoteNetworks: []config.Prefix{config.MustPrefix("10.30.0.0/16")},
			IKESettings: config.IKESettings{IKEVersion: config.IKEv1, Preset: config.LegacyPreset, AcceptWeakCrypto: true,
				LocalID: "tunneler.example.com", RemoteID: "fw.example.com", PSK: config.NewSecret(testPSK + "2"),
				IKELifetime: config.Dur(8 * time.Hour), ChildLifetime: config.Dur(time.Hour),
				DPDDelay: config.Dur(10 * time.Second), DPDTimeout: config.Dur(30 * time.Second), Initiation: config.Responder}},
	}}
	if errs := c.Validate(); errs != nil {
		t.Fatalf("test tunnels do not validate: %v", errs)
	}
	d := c.WithDefaults()
	return map[string]config.Tunnel{"ikev2-defaults": d.Tunnels[0], "ikev1-legacy": d.Tunnels[1]}
}

var genTime = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

// render is Render for a test: every vendor, every test tunnel.
func render(t *testing.T, tunnel config.Tunnel, vendor string) string {
	t.Helper()
	out, err := Render(tunnel, vendor, genTime)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "<no value>") || strings.Contains(out, testPSK) {
		t.Fatalf("%s for %s has an empty value or the key:\n%s", vendor, tunnel.Name, out)
	}
	return out
}

// TestGolden compares every export of both test tunnels with
// testdata/TUNNEL/VENDOR.golden; go test -update rewrites them.
func TestGolden(t *testing.T) {
	for name, tunnel := range testTunnels(t) {
		for _, v := range Vendors() {
			t.Run(name+"/"+v.ID, func(t *testing.T) {
				got := render(t, tunnel, v.ID)
				file := filepath.Join("testdata", name, v.ID+".golden")
				if *update {
					os.MkdirAll(filepath.Dir(file), 0o755)
					if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test -update to write it)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", file, diff)
				}
			})
		}
	}
}

// TestFollowsTheTunnel: each export carries what differs between the
// two tunnels, in that device's words, not a fixed template's.
func TestFollowsTheTunnel(t *testing.T) {
	tunnels := testTunnels(t)
	for _, tc := range []struct {
		tunnel string
		want   []string // in every export
		not    []string // in none
	}{
		{"ikev2-defaults", []string{"10800", "3000", "30", "203.0.113.10", "10.20.0.0", "10.21.0.0", "100.64.0.0", BoxAddrPlaceholder, PSKPlaceholder},
			[]string{"sha1", "198.51.100.20", "28800"}},
		{"ikev1-legacy", []string{"28800", "3600", "10", "fw.example.com", "tunneler.example.com", "192.0.2.10", "10.30.0.0", PSKPlaceholder},
			[]string{"10800", "3000", BoxAddrPlaceholder, "x25519"}},
	} {
		for _, v := range Vendors() {
			out := render(t, tunnels[tc.tunnel], v.ID)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s %s lacks %q", tc.tunnel, v.ID, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(strings.ToLower(out), strings.ToLower(n)) {
					t.Errorf("%s %s has %q", tc.tunnel, v.ID, n)
				}
			}
		}
	}
}

// A tunnel whose proposals a device has none of gets a plain error, not
// a configuration that cannot work.
func TestNoProposalTheDeviceTakes(t *testing.T) {
	tunnel := testTunnels(t)["ikev2-defaults"]
	tunnel.IKEProposals = []string{"aes256gcm16-prfsha256-x25519"}
	_, err := Render(tunnel, "juniper-srx", genTime)
	if err == nil || !strings.Contains(err.Error(), "can be configured with none of this tunnel's proposals") {
		t.Errorf("Render = %v, want a refusal naming the proposals", err)
	}
	if _, err := Render(tunnel, "no-such-device", genTime); err == nil {
		t.Error("an unknown vendor renders")
	}
}
