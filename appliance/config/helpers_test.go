package config

import "errors"

const (
	strongPSK1 = "q7Vt-Lx2Rk9_wZ4mNp8Hc3Jd6Fy1Gs5B"
	strongPSK2 = "M3n_Qz8rXw2Kp5Vd-Ht9Lc4Bj7Fg1Ys6"
	argonHash  = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo"
)

// validConfig is a document with every section filled in that Validate
// accepts; the tables below break one thing at a time.
func validConfig() Config {
	return Config{
		Version: CurrentVersion,
		System:  System{Hostname: "tunneler-1", Timezone: "Europe/Berlin", NTPServers: []string{"pool.ntp.org", "192.0.2.123"}, RemoteSyslog: "logs.example.com:514"},
		Interfaces: []Interface{
			{Role: RoleWAN, MAC: "52:54:00:12:34:56", Mode: ModeStatic, Address: MustPrefix("198.51.100.10/24"), Gateway: MustAddr("198.51.100.1"), DNS: []Addr{MustAddr("198.51.100.53")}},
			{Role: RoleLAN, MAC: "52:54:00:12:34:57", Mode: ModeStatic, Address: MustPrefix("192.168.10.1/24")},
		},
		Admin: Admin{PasswordHash: NewSecret(argonHash), AllowedNetworks: []Prefix{MustPrefix("192.168.10.0/24")}},
		Tunnels: []Tunnel{
			{Name: "site-a", PeerAddress: "203.0.113.5", IKESettings: IKESettings{LocalID: "tunneler.example.com", RemoteID: "203.0.113.5", PSK: NewSecret(strongPSK1)}, RemoteNetworks: []Prefix{MustPrefix("10.1.0.0/16"), MustPrefix("10.2.0.0/16")}},
			{Name: "site-b", PeerAddress: "vpn.site-b.example.net", IKESettings: IKESettings{PSK: NewSecret(strongPSK2), Preset: "fortigate"}, RemoteNetworks: []Prefix{MustPrefix("172.16.0.0/16")}},
		},
	}
}

func asFieldErrors(err error, out *FieldErrors) bool { return errors.As(err, out) }
