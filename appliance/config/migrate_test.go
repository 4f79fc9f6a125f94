package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMigrateV1(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want Config
	}{
		{
			name: "empty v1",
			doc:  `{"version": 1}`,
			want: Config{Version: CurrentVersion},
		},
		{
			name: "one tunnel, psk at top level",
			doc: `{
				"version": 1,
				"hostname": "branch-7",
				"ntp": "pool.ntp.org, 192.0.2.123",
				"tunnel": {
					"remote_ip": "203.0.113.5",
					"remote_id": "fw.example.com",
					"local_subnet": "100.64.0.0/10",
					"remote_subnet": "10.1.0.0/16, 10.2.0.0/16",
					"ike": "ikev1",
					"ike_cipher": "aes256-sha256-modp2048,aes128-sha256-modp2048",
					"esp_cipher": "aes256-sha256",
					"ike_lifetime_seconds": 10800,
					"lifetime_seconds": 3000,
					"force_udp": true
				},
				"psk": "` + strongPSK1 + `",
				"admin_password_hash": "` + argonHash + `",
				"ziti": {"enrolled": true}
			}`,
			want: Config{
				Version: CurrentVersion,
				System:  System{Hostname: "branch-7", NTPServers: []string{"pool.ntp.org", "192.0.2.123"}},
				Admin:   Admin{PasswordHash: NewSecret(argonHash)},
				Router:  Router{Enrolled: true},
				Tunnels: []Tunnel{{
					Name: "site", PeerAddress: "203.0.113.5",
					LocalNetworks:  []Prefix{MustPrefix("100.64.0.0/10")},
					RemoteNetworks: []Prefix{MustPrefix("10.1.0.0/16"), MustPrefix("10.2.0.0/16")},
					IKESettings: IKESettings{
						IKEVersion: IKEv1, RemoteID: "fw.example.com",
						PSK:          NewSecret(strongPSK1),
						IKEProposals: []string{"aes256-sha256-modp2048", "aes128-sha256-modp2048"},
						ESPProposals: []string{"aes256-sha256"},
						IKELifetime:  Dur(3 * time.Hour), ChildLifetime: Dur(50 * time.Minute),
						ForceUDPEncap: true,
					},
				}},
			},
		},
		{
			name: "flat interfaces",
			doc: `{"version": 1,
				"wan": {"dhcp": false, "mac": "52:54:00:00:00:01", "address": "198.51.100.2/24", "gateway": "198.51.100.1", "dns": "198.51.100.53,198.51.100.54"},
				"lan": {"dhcp": true}}`,
			want: Config{
				Version: CurrentVersion,
				Interfaces: []Interface{
					{Role: RoleWAN, MAC: "52:54:00:00:00:01", Mode: ModeStatic, Address: MustPrefix("198.51.100.2/24"), Gateway: MustAddr("198.51.100.1"), DNS: []Addr{MustAddr("198.51.100.53"), MustAddr("198.51.100.54")}},
					{Role: RoleLAN, Mode: ModeDHCP},
				},
			},
		},
		{
			name: "bad values survive migration for Validate to report",
			doc:  `{"version": 1, "tunnel": {"remote_ip": "x", "remote_subnet": "10.0.0.0/33"}}`,
			want: Config{Version: CurrentVersion, Tunnels: []Tunnel{{
				Name: "site", PeerAddress: "x", RemoteNetworks: []Prefix{ParsePrefix("10.0.0.0/33")},
			}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("migrated (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMigratedV1IsValid: a good v1 document is a good current document.
func TestMigratedV1IsValid(t *testing.T) {
	c, err := Decode([]byte(`{"version": 1, "tunnel": {"remote_ip": "203.0.113.5", "remote_subnet": "10.1.0.0/16"}, "psk": "` + strongPSK1 + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); errs != nil {
		t.Errorf("migrated v1 document: %v", errs)
	}
}
