package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   []Change
	}{
		{"nothing", func(c *Config) {}, nil},
		{"hostname", func(c *Config) { c.System.Hostname = "edge-7" },
			[]Change{{Field: "system.hostname", Old: "tunneler-1", New: "edge-7"}}},
		{"a value cleared", func(c *Config) { c.System.RemoteSyslog = "" },
			[]Change{{Field: "system.remote_syslog", Old: "logs.example.com:514"}}},
		{"a list of names", func(c *Config) { c.System.NTPServers = c.System.NTPServers[:1] },
			[]Change{{Field: "system.ntp_servers", Old: "pool.ntp.org, 192.0.2.123", New: "pool.ntp.org"}}},
		{"interface by role, wherever it sits", func(c *Config) {
			c.Interfaces[0], c.Interfaces[1] = c.Interfaces[1], c.Interfaces[0]
			c.Interfaces[0].Address = MustPrefix("192.168.20.1/24")
		}, []Change{{Field: "interfaces[LAN].address", Old: "192.168.10.1/24", New: "192.168.20.1/24"}}},
		{"interface moved to another NIC", func(c *Config) { c.Interfaces[0].MAC = "52:54:00:aa:bb:cc" },
			[]Change{{Field: "interfaces[WAN].mac", Old: "52:54:00:12:34:56", New: "52:54:00:aa:bb:cc"}}},
		{"tunnel by name, not position", func(c *Config) {
			c.Tunnels[0], c.Tunnels[1] = c.Tunnels[1], c.Tunnels[0]
			c.Tunnels[1].PeerAddress = "203.0.113.9"
		}, []Change{{Field: "tunnels[site-a].peer_address", Old: "203.0.113.5", New: "203.0.113.9"}}},
		{"tunnel added", func(c *Config) {
			c.Tunnels = append(c.Tunnels, Tunnel{Name: "site-c", PeerAddress: "198.51.100.77", IKESettings: IKESettings{PSK: NewSecret(strongPSK1)}})
		}, []Change{{Field: "tunnels[site-c]", New: ChangeAdded}}},
		{"tunnel removed", func(c *Config) { c.Tunnels = c.Tunnels[1:] },
			[]Change{{Field: "tunnels[site-a]", New: ChangeRemoved}}},
		{"tunnel renamed is one removed and one added", func(c *Config) { c.Tunnels[1].Name = "site-z" },
			[]Change{{Field: "tunnels[site-b]", New: ChangeRemoved}, {Field: "tunnels[site-z]", New: ChangeAdded}}},
		{"psk changed", func(c *Config) { c.Tunnels[1].PSK = NewSecret(strongPSK1) },
			[]Change{{Field: "tunnels[site-b].psk", New: ChangeChanged}}},
		{"psk set and removed", func(c *Config) {
			c.Tunnels[0].PSK = Secret{}
			c.Admin.PasswordHash = NewSecret("$argon2id$v=19$other")
		}, []Change{{Field: "admin.password_hash", New: ChangeChanged}, {Field: "tunnels[site-a].psk", New: ChangeRemoved}}},
		{"several fields in document order", func(c *Config) {
			c.Tunnels[0].RemoteNetworks = append(c.Tunnels[0].RemoteNetworks, MustPrefix("10.3.0.0/16"))
			c.Tunnels[0].ChildLifetime = Dur(45 * 60e9)
			c.Tunnels[0].MOBIKE = &yes
			c.Admin.AllowedNetworks = nil
		}, []Change{
			{Field: "admin.allowed_networks", Old: "192.168.10.0/24"},
			{Field: "tunnels[site-a].remote_networks", Old: "10.1.0.0/16, 10.2.0.0/16", New: "10.1.0.0/16, 10.2.0.0/16, 10.3.0.0/16"},
			{Field: "tunnels[site-a].child_lifetime", New: "45m"},
			{Field: "tunnels[site-a].mobike", New: "true"},
		}},
		{"router", func(c *Config) { c.Router.Enrolled = true; c.Router.InsideAddress = MustAddr("100.64.0.2") }, []Change{
			{Field: "router.enrolled", New: "true"},
			{Field: "router.inside_address", New: "100.64.0.2"},
		}},
		{"sites, profiles and remotes by position", func(c *Config) {
			c.Profiles = []Profile{{Name: "hq-ipsec", IKESettings: IKESettings{PSK: NewSecret(strongPSK2)}}}
			c.Sites = []Site{{Name: "hq", Remotes: []Remote{{PeerAddress: "203.0.113.1", Profile: "hq-ipsec"}}}}
		}, []Change{{Field: "profiles[hq-ipsec]", New: ChangeAdded}, {Field: "sites[hq]", New: ChangeAdded}}},
		{"duplicate names fall back to positions", func(c *Config) { c.Tunnels[1].Name = "site-a" },
			[]Change{{Field: "tunnels[1].name", Old: "site-b", New: "site-a"}}},
		{"long value cut short", func(c *Config) { c.Tunnels[0].LocalID = strings.Repeat("x", 200) }, []Change{
			{Field: "tunnels[site-a].local_id", Old: "tunneler.example.com", New: strings.Repeat("x", MaxChangeValue-1) + "…"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := validConfig()
			new := validConfig()
			tc.change(&new)
			got := Diff(old, new)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
			assertNoSecrets(t, got)
		})
	}
}

func TestDiffRemotesAndMonitor(t *testing.T) {
	old := validConfig()
	old.Profiles = []Profile{{Name: "p", IKESettings: IKESettings{PSK: NewSecret(strongPSK2)}}}
	old.Sites = []Site{{Name: "hq", Remotes: []Remote{{PeerAddress: "203.0.113.1", Profile: "p"}}}}
	new := old.clone()
	new.Sites[0].Remotes = append(new.Sites[0].Remotes, Remote{PeerAddress: "203.0.113.2", Profile: "p"})
	new.Sites[0].Monitor.Target = "10.1.0.1"
	new.Profiles[0].PSK = NewSecret(strongPSK1)
	want := []Change{
		{Field: "profiles[p].psk", New: ChangeChanged},
		{Field: "sites[hq].remotes[1]", New: ChangeAdded},
		{Field: "sites[hq].monitor.target", New: "10.1.0.1"},
	}
	got := Diff(old, new)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
	assertNoSecrets(t, got)
}

func TestChangeString(t *testing.T) {
	for _, tc := range []struct {
		c    Change
		want string
	}{
		{Change{Field: "system.hostname", Old: "a", New: "b"}, "system.hostname: a → b"},
		{Change{Field: "system.hostname", New: "b"}, "system.hostname: (none) → b"},
		{Change{Field: "system.hostname", Old: "a"}, "system.hostname: a → (none)"},
		{Change{Field: "tunnels[x].psk", New: ChangeChanged}, "tunnels[x].psk: changed"},
		{Change{Field: "tunnels[x]", New: ChangeAdded}, "tunnels[x]: added"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.c, got, tc.want)
		}
	}
}

func assertNoSecrets(t *testing.T, changes []Change) {
	t.Helper()
	for _, c := range changes {
		for _, secret := range []string{strongPSK1, strongPSK2, argonHash, "$argon2id$v=19$other"} {
			if strings.Contains(c.String(), secret) || strings.Contains(c.Field, secret) {
				t.Errorf("change %q shows a secret", c)
			}
		}
	}
}
