package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const strongPSK3 = "Zr4_Wq9mXc2Lp7Vt-Kb3Nd8Hj5Fg1Sy6"

// validSiteConfig adds two profiles and a site with two remotes to validConfig.
func validSiteConfig() Config {
	c := validConfig()
	c.Profiles = []Profile{
		{Name: "forti", IKESettings: IKESettings{Preset: "fortigate", PSK: NewSecret(strongPSK3)}},
		{Name: "pan", IKESettings: IKESettings{Preset: "paloalto", PSK: NewSecret("Tb6-Hn2Qw8Zx4Rc9_Lm3Vp7Kd1Js5Fy0"), IKELifetime: MustDuration("4h")}},
	}
	c.Sites = []Site{{
		Name:           "hq",
		RemoteNetworks: []Prefix{MustPrefix("10.50.0.0/16")},
		Remotes: []Remote{
			{PeerAddress: "203.0.113.50", Profile: "forti"},
			{PeerAddress: "198.18.0.50", Profile: "pan"},
		},
		Monitor: Monitor{Target: "10.50.0.1"},
	}}
	return c
}

func MustDuration(s string) Duration {
	var d Duration
	if err := d.UnmarshalText([]byte(s)); err != nil || !d.Valid() {
		panic(s)
	}
	return d
}

func TestValidateSites(t *testing.T) {
	if errs := validSiteConfig().Validate(); errs != nil {
		t.Fatalf("valid site config: %v", errs)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   FieldErrors
	}{
		{"unknown profile", func(c *Config) { c.Sites[0].Remotes[1].Profile = "cisco" },
			FieldErrors{{"sites[0].remotes[1].profile", `"cisco" is not the name of a profile`}}},
		{"missing profile", func(c *Config) { c.Sites[0].Remotes[0].Profile = "" },
			FieldErrors{{"sites[0].remotes[0].profile", "is missing; name one of the profiles"}}},
		{"five remotes", func(c *Config) {
			for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
				c.Sites[0].Remotes = append(c.Sites[0].Remotes, Remote{PeerAddress: a, Profile: "forti"})
			}
		}, FieldErrors{{"sites[0].remotes", "has 5 entries; at most 4 are allowed"}}},
		{"no remotes", func(c *Config) { c.Sites[0].Remotes = nil },
			FieldErrors{{"sites[0].remotes", "is empty; list 1 to 4 remote VPN devices, most preferred first"}}},
		{"duplicate peer", func(c *Config) { c.Sites[0].Remotes[1].PeerAddress = "203.0.113.50" },
			FieldErrors{{"sites[0].remotes[1].peer_address", "203.0.113.50 is already the peer of sites[0].remotes[0]; each remote is a different device or link"}}},
		{"peer of a tunnel", func(c *Config) { c.Sites[0].Remotes[1].PeerAddress = "203.0.113.5" },
			FieldErrors{{"sites[0].remotes[1].peer_address", `203.0.113.5 is already the peer of tunnel "site-a"`}}},
		{"weak psk in profile", func(c *Config) { c.Profiles[0].PSK = NewSecret("password") },
			FieldErrors{{"profiles[0].psk", pskMessage("password")}}},
		{"psk shared by two profiles", func(c *Config) { c.Profiles[1].PSK = NewSecret(strongPSK3) },
			FieldErrors{{"profiles[1].psk", "is the same key as profiles[0]; use a different key per remote device"}}},
		{"psk of a tunnel", func(c *Config) { c.Profiles[1].PSK = NewSecret(strongPSK1) },
			FieldErrors{{"profiles[1].psk", "is the same key as tunnels[0]; use a different key per remote device"}}},
		{"duplicate profile name", func(c *Config) { c.Profiles[1].Name = "forti" },
			FieldErrors{
				{"profiles[1].name", `"forti" is already the name of profiles[0]; names must be unique`},
				{"sites[0].remotes[1].profile", `"pan" is not the name of a profile`},
			}},
		{"weak proposal in profile", func(c *Config) { c.Profiles[0].IKEProposals = []string{"3des-sha1-modp1024"} },
			FieldErrors{{"profiles[0].ike_proposals[0]", `"3des-sha1-modp1024" uses 3des: 3DES has a 64-bit block (Sweet32)`}}},
		{"unknown preset", func(c *Config) { c.Profiles[0].Preset = "juniper" },
			FieldErrors{{"profiles[0].preset", `"juniper" is not a known preset; use one of ` + presetNames()}}},
		{"site name clashes with a tunnel", func(c *Config) { c.Tunnels[0].Name = "hq-r2" },
			FieldErrors{{"sites[0].name", `"hq" would name its remote 2 "hq-r2", already the name of tunnels[0]`}}},
		{"remote network of a tunnel", func(c *Config) { c.Sites[0].RemoteNetworks[0] = MustPrefix("10.1.2.0/24") },
			FieldErrors{
				{"sites[0].remote_networks[0]", "10.1.2.0/24 overlaps 10.1.0.0/16 (tunnels[0].remote_networks[0]); the box could not tell which tunnel to use"},
			}},
		{"monitor outside the tunnel", func(c *Config) { c.Sites[0].Monitor.Target = "8.8.8.8" },
			FieldErrors{{"sites[0].monitor.target", "8.8.8.8 is not in the site's remote networks, so the probe would not go through the tunnel"}}},
		{"tcp monitor without port", func(c *Config) { c.Sites[0].Monitor.Type = MonitorTCP },
			FieldErrors{{"sites[0].monitor.target", `"10.50.0.1" is not address:port (like 10.1.0.10:443), which a tcp monitor needs`}}},
		{"monitor timeout above interval", func(c *Config) {
			c.Sites[0].Monitor.Interval = MustDuration("1s")
			c.Sites[0].Monitor.Timeout = MustDuration("2s")
		}, FieldErrors{{"sites[0].monitor.timeout", "2s is longer than the interval (1s); a probe must end before the next one starts"}}},
		{"monitor retries", func(c *Config) { c.Sites[0].Monitor.Retries = 50 },
			FieldErrors{{"sites[0].monitor.retries", "50 is outside the range 1 to 20"}}},
		{"hold-down too long", func(c *Config) { c.Sites[0].HoldDown = MustDuration("2h") },
			FieldErrors{{"sites[0].hold_down", "2h is outside the range 1s to 1h"}}},
		{"per-remote target", func(c *Config) { c.Sites[0].Remotes[1].MonitorTarget = "10.51.0.1" },
			FieldErrors{{"sites[0].remotes[1].monitor_target", "10.51.0.1 is not in the site's remote networks, so the probe would not go through the tunnel"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validSiteConfig()
			tc.mutate(&c)
			if diff := cmp.Diff(tc.want, c.Validate()); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func pskMessage(v string) string { return pskWeakness(v) }

func TestExpandAndAllTunnels(t *testing.T) {
	c := validSiteConfig()
	all := c.AllTunnels()
	var names []string
	for _, t := range all {
		names = append(names, t.Name)
	}
	if diff := cmp.Diff([]string{"site-a", "site-b", "hq-r1", "hq-r2"}, names); diff != "" {
		t.Fatalf("AllTunnels names (-want +got):\n%s", diff)
	}
	r2 := all[3]
	if r2.PeerAddress != "198.18.0.50" || r2.RemoteID != "198.18.0.50" || r2.PSK.Reveal() != c.Profiles[1].PSK.Reveal() ||
		r2.IKELifetime.D.String() != "4h0m0s" || r2.Preset != "paloalto" || len(r2.ESPProposals) == 0 ||
		r2.LocalNetworks[0].String() != "100.64.0.0/10" || r2.RemoteNetworks[0].String() != "10.50.0.0/16" {
		t.Errorf("hq-r2 = %+v", r2)
	}
	exp := c.Expand(map[string]int{"hq": 1})
	if n := len(exp.Tunnels); n != 3 || exp.Tunnels[2].Name != "hq-r2" {
		t.Fatalf("Expand active 1: tunnels %v", exp.Tunnels)
	}
	if exp := c.Expand(nil); exp.Tunnels[2].Name != "hq-r1" {
		t.Errorf("Expand default: %s, want hq-r1", exp.Tunnels[2].Name)
	}
	// The expanded document validates as a whole: what xfrm and charon
	// get is what the validator allows for plain tunnels.
	exp.Sites, exp.Profiles = nil, nil
	if errs := exp.Validate(); errs != nil {
		t.Errorf("expanded config invalid: %v", errs)
	}
	if c.Sites[0].Monitor.Interval.IsZero() == false {
		t.Error("Expand wrote defaults into the caller's document")
	}
}

func TestDecodeV2AndV3(t *testing.T) {
	c, err := Decode([]byte(`{"version": 2, "tunnels": [{"name": "hq", "peer_address": "203.0.113.7", "remote_networks": ["10.8.0.0/16"]}]}`))
	if err != nil || c.Version != 3 || len(c.Tunnels) != 1 {
		t.Fatalf("v2: %v %+v", err, c)
	}
	_, err = Decode([]byte(`{"version": 2, "sites": []}`))
	if err == nil || !strings.Contains(err.Error(), "needs a version 3 document") {
		t.Errorf("v2 with sites: %v", err)
	}
	doc := `{"version": 3,
		"profiles": [{"name": "forti", "preset": "fortigate", "psk": "` + strongPSK3 + `", "dpd_delay": "10s"}],
		"sites": [{"name": "hq", "remote_networks": ["10.50.0.0/16"], "hold_down": "20s", "restart_grace": "500ms",
			"remotes": [{"peer_address": "203.0.113.50", "profile": "forti"}, {"peer_address": "198.18.0.50", "profile": "forti", "monitor_target": "10.50.0.2"}],
			"monitor": {"type": "icmp", "target": "10.50.0.1", "interval": "1s", "timeout": "500ms", "retries": 2}}]}`
	c, err = Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); errs != nil {
		t.Fatalf("Validate: %v", errs)
	}
	s := c.WithDefaults().Sites[0]
	if s.RestartGrace.D.String() != "500ms" || s.HoldDown.D.String() != "20s" || s.Monitor.Retries != 2 || s.Monitor.Source.String() != "100.64.0.1" {
		t.Errorf("site with defaults: %+v", s)
	}
	if strings.Contains(c.String(), strongPSK3) {
		t.Error("String shows a profile PSK")
	}
}

func TestProfileSecretsStayOutOfTheDocument(t *testing.T) {
	c := validSiteConfig()
	pub, sec := splitSecrets(c)
	if !pub.Profiles[0].PSK.IsHidden() || sec.ProfilePSKs["forti"] != strongPSK3 {
		t.Fatalf("splitSecrets: %+v %+v", pub.Profiles[0], sec.ProfilePSKs)
	}
	back := joinSecrets(pub, sec)
	if back.Profiles[0].PSK.Reveal() != strongPSK3 {
		t.Error("joinSecrets lost the profile PSK")
	}
	kept := pub.KeepSecrets(c)
	if kept.Profiles[1].PSK.Reveal() != c.Profiles[1].PSK.Reveal() {
		t.Error("KeepSecrets lost the profile PSK")
	}
}

func TestStoreKeepsSitesAndHidesProfilePSKs(t *testing.T) {
	s := newStore(t)
	c := validSiteConfig()
	c.Sites[0].HoldDown = MustDuration("45s")
	n := mustSave(t, s, c)
	doc, err := os.ReadFile(filepath.Join(s.Dir, docName(n)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), strongPSK3) {
		t.Errorf("profile PSK in the main document:\n%s", doc)
	}
	got, _, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got, cmp.Comparer(func(a, b Secret) bool { return a.Reveal() == b.Reveal() && a.IsHidden() == b.IsHidden() })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
