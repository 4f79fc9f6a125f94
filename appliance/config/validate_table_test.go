package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// badDocuments break a valid document one way each; want is exactly what
// the operator sees next to the field.
var badDocuments = []struct {
	name   string
	mutate func(*Config)
	want   FieldErrors
}{
	{
		name: "too many remote networks",
		mutate: func(c *Config) {
			for i := range 300 {
				c.Tunnels[1].RemoteNetworks = append(c.Tunnels[1].RemoteNetworks, PrefixFrom(netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 17, byte(i >> 8), byte(i)}), 32)))
			}
		},
		want: FieldErrors{
			{"tunnels[1].remote_networks", "has 301 entries; at most 256 are allowed"},
		},
	},
	{
		name:   "version from the future",
		mutate: func(c *Config) { c.Version = 4 },
		want: FieldErrors{
			{"version", "is 4; this firmware reads version 3 documents (older ones are migrated on import)"},
		},
	},
	{
		name:   "hostname with underscore",
		mutate: func(c *Config) { c.System.Hostname = "my_box" },
		want: FieldErrors{
			{"system.hostname", "\"my_box\" is not a valid host name: use letters, digits and '-' (not first or last), at most 63 per label"},
		},
	},
	{
		name:   "hostname label too long",
		mutate: func(c *Config) { c.System.Hostname = strings.Repeat("a", 64) },
		want: FieldErrors{
			{"system.hostname", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is not a valid host name: use letters, digits and '-' (not first or last), at most 63 per label"},
		},
	},
	{
		name:   "timezone path traversal",
		mutate: func(c *Config) { c.System.Timezone = "../etc/passwd" },
		want: FieldErrors{
			{"system.timezone", "\"../etc/passwd\" is not a time zone name like Europe/Berlin or UTC"},
		},
	},
	{
		name:   "ntp server not a host",
		mutate: func(c *Config) { c.System.NTPServers[1] = "ntp server" },
		want: FieldErrors{
			{"system.ntp_servers[1]", "\"ntp server\" is not an IP address or a DNS name"},
		},
	},
	{
		name:   "syslog bad port",
		mutate: func(c *Config) { c.System.RemoteSyslog = "logs.example.com:99999" },
		want: FieldErrors{
			{"system.remote_syslog", "port \"99999\" is not a number from 1 to 65535"},
		},
	},
	{
		name:   "syslog scheme not udp or tcp",
		mutate: func(c *Config) { c.System.RemoteSyslog = "https://logs.example.com" },
		want: FieldErrors{
			{"system.remote_syslog", "\"https://logs.example.com\": start with udp:// or tcp://, or give host:port alone for UDP"},
		},
	},
	{
		name:   "syslog over tcp with a bad port",
		mutate: func(c *Config) { c.System.RemoteSyslog = "tcp://logs.example.com:0" },
		want: FieldErrors{
			{"system.remote_syslog", "port \"0\" is not a number from 1 to 65535"},
		},
	},
	{
		name:   "syslog not a host",
		mutate: func(c *Config) { c.System.RemoteSyslog = "-bad-:514" },
		want: FieldErrors{
			{"system.remote_syslog", "\"-bad-:514\" is not host or host:port (like logs.example.com:514)"},
		},
	},
	{
		name:   "interface role unknown",
		mutate: func(c *Config) { c.Interfaces[1].Role = "dmz" },
		want: FieldErrors{
			{"interfaces[1].role", "\"dmz\" is not a role; it must be wan or lan"},
		},
	},
	{
		name:   "interface role missing",
		mutate: func(c *Config) { c.Interfaces[1].Role = "" },
		want: FieldErrors{
			{"interfaces[1].role", "is missing; it must be wan or lan"},
		},
	},
	{
		name:   "two wan interfaces",
		mutate: func(c *Config) { c.Interfaces[1].Role = RoleWAN },
		want: FieldErrors{
			{"interfaces[1].role", "wan is already the role of interfaces[0]; each role goes to one NIC"},
			{"interfaces[1].gateway", "is missing; a static WAN needs a default gateway"},
		},
	},
	{
		name:   "bad mac",
		mutate: func(c *Config) { c.Interfaces[0].MAC = "52:54:00:12:34" },
		want: FieldErrors{
			{"interfaces[0].mac", "\"52:54:00:12:34\" is not a MAC address like 52:54:00:12:34:56"},
		},
	},
	{
		name:   "multicast mac",
		mutate: func(c *Config) { c.Interfaces[0].MAC = "01:00:5e:00:00:01" },
		want: FieldErrors{
			{"interfaces[0].mac", "01:00:5e:00:00:01 is a multicast MAC address, which no NIC has"},
		},
	},
	{
		name:   "same mac twice",
		mutate: func(c *Config) { c.Interfaces[1].MAC = "52-54-00-12-34-56" },
		want: FieldErrors{
			{"interfaces[1].mac", "52-54-00-12-34-56 is already bound to interfaces[0]; one NIC cannot have two roles"},
		},
	},
	{
		name:   "unknown address mode",
		mutate: func(c *Config) { c.Interfaces[0].Mode = "pppoe" },
		want: FieldErrors{
			{"interfaces[0].mode", "\"pppoe\" is not a mode; it must be dhcp or static"},
		},
	},
	{
		name:   "static without address",
		mutate: func(c *Config) { c.Interfaces[1].Address = Prefix{} },
		want: FieldErrors{
			{"interfaces[1].address", "is missing; a static interface needs an address like 192.0.2.10/24"},
		},
	},
	{
		name:   "static address not CIDR",
		mutate: func(c *Config) { c.Interfaces[0].Address = ParsePrefix("198.51.100.10") },
		want: FieldErrors{
			{"interfaces[0].address", "\"198.51.100.10\" is not an address with a prefix length (like 192.0.2.10/24)"},
		},
	},
	{
		name:   "static address is network address",
		mutate: func(c *Config) { c.Interfaces[1].Address = MustPrefix("192.168.10.0/24") },
		want: FieldErrors{
			{"interfaces[1].address", "192.168.10.0 is the network address of 192.168.10.0/24, not a host in it"},
		},
	},
	{
		name:   "static address is broadcast",
		mutate: func(c *Config) { c.Interfaces[1].Address = MustPrefix("192.168.10.255/24") },
		want: FieldErrors{
			{"interfaces[1].address", "192.168.10.255 is the broadcast address of 192.168.10.0/24, not a host in it"},
		},
	},
	{
		name:   "static address loopback",
		mutate: func(c *Config) { c.Interfaces[1].Address = MustPrefix("127.0.0.2/8") },
		want: FieldErrors{
			{"interfaces[1].address", "127.0.0.2 is a loopback address, which never leaves the box"},
		},
	},
	{
		name:   "static wan without gateway",
		mutate: func(c *Config) { c.Interfaces[0].Gateway = Addr{} },
		want: FieldErrors{
			{"interfaces[0].gateway", "is missing; a static WAN needs a default gateway"},
		},
	},
	{
		name:   "gateway outside subnet",
		mutate: func(c *Config) { c.Interfaces[0].Gateway = MustAddr("198.51.101.1") },
		want: FieldErrors{
			{"interfaces[0].gateway", "198.51.101.1 is not in the interface's subnet 198.51.100.0/24"},
		},
	},
	{
		name:   "gateway bad syntax",
		mutate: func(c *Config) { c.Interfaces[0].Gateway = ParseAddr("198.51.100.256") },
		want: FieldErrors{
			{"interfaces[0].gateway", "\"198.51.100.256\" is not an IP address"},
		},
	},
	{
		name:   "gateway is own address",
		mutate: func(c *Config) { c.Interfaces[0].Gateway = MustAddr("198.51.100.10") },
		want: FieldErrors{
			{"interfaces[0].gateway", "198.51.100.10 is the interface's own address"},
		},
	},
	{
		name:   "dhcp with static address",
		mutate: func(c *Config) { c.Interfaces[0].Mode = ModeDHCP },
		want: FieldErrors{
			{"interfaces[0].address", "is only used with mode static; remove it or set mode to static"},
			{"interfaces[0].gateway", "is only used with mode static; remove it or set mode to static"},
		},
	},
	{
		name:   "dns bad syntax",
		mutate: func(c *Config) { c.Interfaces[0].DNS = []Addr{ParseAddr("dns.example.com")} },
		want: FieldErrors{
			{"interfaces[0].dns[0]", "\"dns.example.com\" is not an IP address"},
		},
	},
	{
		name:   "dns multicast",
		mutate: func(c *Config) { c.Interfaces[0].DNS = []Addr{MustAddr("224.0.0.251")} },
		want: FieldErrors{
			{"interfaces[0].dns[0]", "224.0.0.251 is a multicast address, not a single host"},
		},
	},
	{
		name:   "admin password in clear",
		mutate: func(c *Config) { c.Admin.PasswordHash = NewSecret("hunter2hunter2") },
		want: FieldErrors{
			{"admin.password_hash", "is not a password hash (expected $argon2id$..., $2b$... or $6$...); the box stores only a hash of the password, never the password"},
		},
	},
	{
		name:   "admin hash placeholder",
		mutate: func(c *Config) { c.Admin.PasswordHash = Secret{hidden: true} },
		want: FieldErrors{
			{"admin.password_hash", "is \"(hidden)\", a placeholder for the stored value, but there is no stored value to keep"},
		},
	},
	{
		name:   "allowed network host bits",
		mutate: func(c *Config) { c.Admin.AllowedNetworks[0] = MustPrefix("192.168.10.7/24") },
		want: FieldErrors{
			{"admin.allowed_networks[0]", "192.168.10.7/24 has host bits set; the network is 192.168.10.0/24"},
		},
	},
	{
		name:   "allowed network garbage",
		mutate: func(c *Config) { c.Admin.AllowedNetworks[0] = ParsePrefix("office") },
		want: FieldErrors{
			{"admin.allowed_networks[0]", "\"office\" is not a network in CIDR notation (like 10.1.0.0/16)"},
		},
	},
	{
		name:   "router identity path relative",
		mutate: func(c *Config) { c.Router.IdentityPath = "ziti/router.yml" },
		want: FieldErrors{
			{"router.identity_path", "\"ziti/router.yml\" must be a clean absolute path like /perm/ziti/router.yml"},
		},
	},
	{
		name:   "router intercept range bad",
		mutate: func(c *Config) { c.Router.InterceptRange = ParsePrefix("100.64.0.0/33") },
		want: FieldErrors{
			{"router.intercept_range", "\"100.64.0.0/33\" is not a network in CIDR notation (like 10.1.0.0/16)"},
		},
	},
	{
		name:   "router intercept range overlaps lan",
		mutate: func(c *Config) { c.Router.InterceptRange = MustPrefix("192.168.0.0/16"); c.Tunnels = nil },
		want: FieldErrors{
			{"router.intercept_range", "192.168.0.0/16 overlaps the LAN subnet 192.168.10.0/24 (interfaces[1])"},
		},
	},
	{
		name:   "router inside address outside range",
		mutate: func(c *Config) { c.Router.InsideAddress = MustAddr("10.9.9.9") },
		want: FieldErrors{
			{"router.inside_address", "10.9.9.9 is outside the intercept range 100.64.0.0/10"},
		},
	},
	{
		name:   "tunnel name missing",
		mutate: func(c *Config) { c.Tunnels[0].Name = "" },
		want: FieldErrors{
			{"tunnels[0].name", "is missing; give the tunnel a short name like site-a"},
		},
	},
	{
		name:   "tunnel name upper case",
		mutate: func(c *Config) { c.Tunnels[0].Name = "Site-A" },
		want: FieldErrors{
			{"tunnels[0].name", "\"Site-A\" is not a valid name: use lower-case letters, digits and '-', start with a letter, at most 63 characters"},
		},
	},
	{
		name:   "tunnel name starts with digit",
		mutate: func(c *Config) { c.Tunnels[0].Name = "1site" },
		want: FieldErrors{
			{"tunnels[0].name", "\"1site\" is not a valid name: use lower-case letters, digits and '-', start with a letter, at most 63 characters"},
		},
	},
	{
		name:   "tunnel name too long",
		mutate: func(c *Config) { c.Tunnels[0].Name = "s" + strings.Repeat("x", 63) },
		want: FieldErrors{
			{"tunnels[0].name", "\"sxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" is not a valid name: use lower-case letters, digits and '-', start with a letter, at most 63 characters"},
		},
	},
	{
		name:   "duplicate tunnel names",
		mutate: func(c *Config) { c.Tunnels[1].Name = "site-a" },
		want: FieldErrors{
			{"tunnels[1].name", "\"site-a\" is already the name of tunnels[0]; names must be unique"},
		},
	},
	{
		name:   "unknown ike version",
		mutate: func(c *Config) { c.Tunnels[0].IKEVersion = "ikev3" },
		want: FieldErrors{
			{"tunnels[0].ike_version", "\"ikev3\" is not an IKE version; it must be ikev2 or ikev1"},
		},
	},
	{
		name:   "peer missing",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "is missing; give the remote VPN device's public IP address or DNS name"},
		},
	},
	{
		name:   "peer unspecified",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "0.0.0.0" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "0.0.0.0 is the unspecified address, not a single host"},
		},
	},
	{
		name:   "peer multicast",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "239.1.2.3" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "239.1.2.3 is a multicast address, not a single host"},
		},
	},
	{
		name:   "peer broadcast",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "255.255.255.255" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "255.255.255.255 is the broadcast address, not a single host"},
		},
	},
	{
		name:   "peer loopback",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "127.0.0.1" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "127.0.0.1 is a loopback address, which never leaves the box"},
		},
	},
	{
		name:   "peer ipv6 loopback",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "::1" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "::1 is a loopback address, which never leaves the box"},
		},
	},
	{
		name:   "peer mistyped address",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "203.0.113.300" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "\"203.0.113.300\" is neither an IP address nor a DNS name"},
		},
	},
	{
		name:   "peer with scheme",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "https://vpn.example.com" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "\"https://vpn.example.com\" is neither an IP address nor a DNS name"},
		},
	},
	{
		name:   "peer %any",
		mutate: func(c *Config) { c.Tunnels[0].PeerAddress = "%any" },
		want: FieldErrors{
			{"tunnels[0].peer_address", "%any is not supported: the firewall admits IKE only from configured peers; give the remote device's address or DNS name"},
		},
	},
	{
		name:   "local address bad",
		mutate: func(c *Config) { c.Tunnels[0].LocalAddress = ParseAddr("wan0") },
		want: FieldErrors{
			{"tunnels[0].local_address", "\"wan0\" is not an IP address (leave it out to use the WAN address)"},
		},
	},
	{
		name:   "local id too long",
		mutate: func(c *Config) { c.Tunnels[0].LocalID = strings.Repeat("x", 256) },
		want: FieldErrors{
			{"tunnels[0].local_id", "is 256 characters long; an identity must be 1 to 255 characters"},
		},
	},
	{
		name:   "remote id only spaces",
		mutate: func(c *Config) { c.Tunnels[0].RemoteID = "   " },
		want: FieldErrors{
			{"tunnels[0].remote_id", "is only spaces; an identity must be 1 to 255 characters of text"},
		},
	},
	{
		name:   "remote id control char",
		mutate: func(c *Config) { c.Tunnels[0].RemoteID = "peer\x00id" },
		want: FieldErrors{
			{"tunnels[0].remote_id", "contains a control character"},
		},
	},
	{
		name:   "psk missing",
		mutate: func(c *Config) { c.Tunnels[0].PSK = Secret{} },
		want: FieldErrors{
			{"tunnels[0].psk", "is missing; every tunnel needs a pre-shared key, and the box can generate a strong one"},
		},
	},
	{
		name:   "psk placeholder",
		mutate: func(c *Config) { c.Tunnels[0].PSK = Secret{hidden: true} },
		want: FieldErrors{
			{"tunnels[0].psk", "is \"(hidden)\", a placeholder for the stored key, but there is no stored key to keep"},
		},
	},
	{
		name:   "psk short",
		mutate: func(c *Config) { c.Tunnels[0].PSK = NewSecret("Sh0rt!key") },
		want: FieldErrors{
			{"tunnels[0].psk", "is 9 characters long, which is too short to resist guessing; use at least 20 random characters, or let the box generate a strong one"},
		},
	},
	{
		name:   "psk few distinct characters",
		mutate: func(c *Config) { c.Tunnels[0].PSK = NewSecret("abababababababababababab") },
		want: FieldErrors{
			{"tunnels[0].psk", "uses only 2 different characters; use at least 20 random characters, or let the box generate a strong one"},
		},
	},
	{
		name:   "psk one class",
		mutate: func(c *Config) { c.Tunnels[0].PSK = NewSecret("correcthorsebatterystaple") },
		want: FieldErrors{
			{"tunnels[0].psk", "uses only one kind of character (all letters of one case, or all digits); mix cases, digits and symbols; use at least 20 random characters, or let the box generate a strong one"},
		},
	},
	{
		name:   "psk common words",
		mutate: func(c *Config) { c.Tunnels[0].PSK = NewSecret("MyCompanyVPNpassword2024!") },
		want: FieldErrors{
			{"tunnels[0].psk", "is guessable: most of it is common words, repeated or sequential characters (like aaaa, 1234, abcd, qwerty); use at least 20 random characters, or let the box generate a strong one"},
		},
	},
	{
		name:   "psk sequences",
		mutate: func(c *Config) { c.Tunnels[0].PSK = NewSecret("abcdefgh12345678ABCDEFGH") },
		want: FieldErrors{
			{"tunnels[0].psk", "is guessable: most of it is common words, repeated or sequential characters (like aaaa, 1234, abcd, qwerty); use at least 20 random characters, or let the box generate a strong one"},
		},
	},
	{
		name:   "psk repeated block",
		mutate: func(c *Config) { c.Tunnels[0].PSK = NewSecret("Xy7!Qz9#Xy7!Qz9#Xy7!Qz9#") },
		want: FieldErrors{
			{"tunnels[0].psk", "is guessable: most of it is common words, repeated or sequential characters (like aaaa, 1234, abcd, qwerty); use at least 20 random characters, or let the box generate a strong one"},
		},
	},
	{
		name:   "psk too long",
		mutate: func(c *Config) { c.Tunnels[0].PSK = NewSecret(strings.Repeat(strongPSK1, 9)) },
		want: FieldErrors{
			{"tunnels[0].psk", "is 288 characters long; most VPN devices accept at most 256"},
		},
	},
	{
		name:   "psk reused",
		mutate: func(c *Config) { c.Tunnels[1].PSK = NewSecret(strongPSK1) },
		want: FieldErrors{
			{"tunnels[1].psk", "is the same key as tunnels[0]; use a different key per remote device"},
		},
	},
	{
		name:   "local network bad syntax",
		mutate: func(c *Config) { c.Tunnels[0].LocalNetworks = []Prefix{ParsePrefix("100.64.0.0/ten")} },
		want: FieldErrors{
			{"tunnels[0].local_networks[0]", "\"100.64.0.0/ten\" is not a network in CIDR notation (like 10.1.0.0/16)"},
		},
	},
	{
		name: "local network overlaps wan",
		mutate: func(c *Config) {
			c.Tunnels[0].LocalNetworks = []Prefix{MustPrefix("100.64.0.0/10"), MustPrefix("198.51.100.0/25")}
		},
		want: FieldErrors{
			{"tunnels[0].local_networks[1]", "198.51.100.0/25 overlaps the WAN subnet 198.51.100.0/24 (interfaces[0])"},
		},
	},
	{
		name: "local network overlaps itself",
		mutate: func(c *Config) {
			c.Tunnels[0].LocalNetworks = []Prefix{MustPrefix("100.64.0.0/10"), MustPrefix("100.64.1.0/24")}
		},
		want: FieldErrors{
			{"tunnels[0].local_networks[1]", "100.64.1.0/24 overlaps tunnels[0].local_networks[0] (100.64.0.0/10) of the same tunnel"},
		},
	},
	{
		name:   "local networks miss inside address",
		mutate: func(c *Config) { c.Tunnels[0].LocalNetworks = []Prefix{MustPrefix("100.100.0.0/16")} },
		want: FieldErrors{
			{"tunnels[0].local_networks", "none contains the router's inside address 100.64.0.1, so the router's traffic would not enter this tunnel"},
		},
	},
	{
		name:   "remote networks empty",
		mutate: func(c *Config) { c.Tunnels[0].RemoteNetworks = nil },
		want: FieldErrors{
			{"tunnels[0].remote_networks", "is empty; list at least one network behind the remote device, like 10.1.0.0/16"},
		},
	},
	{
		name:   "remote network bad syntax",
		mutate: func(c *Config) { c.Tunnels[0].RemoteNetworks[1] = ParsePrefix("10.2.0.0/16,10.3.0.0/16") },
		want: FieldErrors{
			{"tunnels[0].remote_networks[1]", "\"10.2.0.0/16,10.3.0.0/16\" is not a network in CIDR notation (like 10.1.0.0/16)"},
		},
	},
	{
		name:   "remote network host bits",
		mutate: func(c *Config) { c.Tunnels[0].RemoteNetworks[1] = MustPrefix("10.2.3.4/16") },
		want: FieldErrors{
			{"tunnels[0].remote_networks[1]", "10.2.3.4/16 has host bits set; the network is 10.2.0.0/16"},
		},
	},
	{
		name:   "remote network overlaps local",
		mutate: func(c *Config) { c.Tunnels[0].RemoteNetworks[1] = MustPrefix("100.64.0.0/16") },
		want: FieldErrors{
			{"tunnels[0].remote_networks[1]", "100.64.0.0/16 overlaps the local network 100.64.0.0/10 (tunnels[0].local_networks[0]); the two sides of a tunnel must not overlap"},
		},
	},
	{
		name:   "remote network overlaps same tunnel",
		mutate: func(c *Config) { c.Tunnels[0].RemoteNetworks[1] = MustPrefix("10.1.128.0/17") },
		want: FieldErrors{
			{"tunnels[0].remote_networks[1]", "10.1.128.0/17 overlaps 10.1.0.0/16 (tunnels[0].remote_networks[0]) of the same tunnel"},
		},
	},
	{
		name:   "remote network overlaps another tunnel",
		mutate: func(c *Config) { c.Tunnels[1].RemoteNetworks[0] = MustPrefix("10.0.0.0/8") },
		want: FieldErrors{
			{"tunnels[1].remote_networks[0]", "10.0.0.0/8 overlaps 10.1.0.0/16, a remote network of another tunnel (tunnels[0].remote_networks[0]); the box could not tell which tunnel to use"},
		},
	},
	{
		name:   "remote network overlaps wan",
		mutate: func(c *Config) { c.Tunnels[0].RemoteNetworks[1] = MustPrefix("198.51.0.0/16") },
		want: FieldErrors{
			{"tunnels[0].remote_networks[1]", "198.51.0.0/16 overlaps the WAN subnet 198.51.100.0/24 (interfaces[0])"},
		},
	},
	{
		name:   "remote network overlaps lan",
		mutate: func(c *Config) { c.Tunnels[0].RemoteNetworks[1] = MustPrefix("192.168.10.0/24") },
		want: FieldErrors{
			{"tunnels[0].remote_networks[1]", "192.168.10.0/24 overlaps the LAN subnet 192.168.10.0/24 (interfaces[1])"},
		},
	},
	{
		name: "remote network overlaps lan fallback",
		mutate: func(c *Config) {
			c.Interfaces = c.Interfaces[:1]
			c.Tunnels[0].RemoteNetworks[1] = MustPrefix("192.168.0.0/16")
		},
		want: FieldErrors{
			{"tunnels[0].remote_networks[1]", "192.168.0.0/16 overlaps the LAN fallback subnet 192.168.77.0/24 used when no DHCP server answers (give the LAN a static address elsewhere)"},
		},
	},
	{
		name: "remote network overlaps intercept range",
		mutate: func(c *Config) {
			c.Tunnels[0].LocalNetworks = []Prefix{MustPrefix("100.64.0.0/24")}
			c.Tunnels[0].RemoteNetworks[1] = MustPrefix("100.65.0.0/16")
		},
		want: FieldErrors{
			{"tunnels[0].remote_networks[1]", "100.65.0.0/16 overlaps the router's intercept range 100.64.0.0/10"},
		},
	},
	{
		name:   "remote default route in policy mode",
		mutate: func(c *Config) { c.Tunnels[0].RemoteNetworks = []Prefix{MustPrefix("0.0.0.0/0")} },
		want: FieldErrors{
			{"tunnels[0].remote_networks[0]", "0.0.0.0/0 in policy mode would send the box's own traffic into the tunnel; use mode route for a default route"},
		},
	},
	{
		name:   "unknown tunnel mode",
		mutate: func(c *Config) { c.Tunnels[0].Mode = "gre" },
		want: FieldErrors{
			{"tunnels[0].mode", "\"gre\" is not a mode; it must be policy or route"},
		},
	},
	{
		name:   "route mode without if_id",
		mutate: func(c *Config) { c.Tunnels[0].Mode = ModeRoute },
		want: FieldErrors{
			{"tunnels[0].if_id", "is missing; route mode needs an xfrm interface id from 1 to 4294967295"},
		},
	},
	{
		name: "duplicate if_id",
		mutate: func(c *Config) {
			c.Tunnels[0].Mode, c.Tunnels[0].IfID = ModeRoute, 7
			c.Tunnels[1].Mode, c.Tunnels[1].IfID = ModeRoute, 7
		},
		want: FieldErrors{
			{"tunnels[1].if_id", "7 is already the if_id of tunnels[0]; each route-mode tunnel needs its own"},
		},
	},
	{
		name:   "if_id in policy mode",
		mutate: func(c *Config) { c.Tunnels[0].IfID = 7 },
		want: FieldErrors{
			{"tunnels[0].if_id", "is only used with mode route"},
		},
	},
	{
		name:   "routes in policy mode",
		mutate: func(c *Config) { c.Tunnels[0].Routes = []Prefix{MustPrefix("10.1.0.0/16")} },
		want: FieldErrors{
			{"tunnels[0].routes", "are only used with mode route; in policy mode the remote networks decide what enters the tunnel"},
		},
	},
	{
		name: "route overlaps lan",
		mutate: func(c *Config) {
			c.Tunnels[0].Mode, c.Tunnels[0].IfID = ModeRoute, 7
			c.Tunnels[0].Routes = []Prefix{MustPrefix("192.168.10.0/24")}
		},
		want: FieldErrors{
			{"tunnels[0].routes[0]", "192.168.10.0/24 overlaps the LAN subnet 192.168.10.0/24 (interfaces[1])"},
		},
	},
	{
		name: "routes of two tunnels overlap",
		mutate: func(c *Config) {
			c.Tunnels[0].Mode, c.Tunnels[0].IfID = ModeRoute, 7
			c.Tunnels[1].Mode, c.Tunnels[1].IfID = ModeRoute, 8
			c.Tunnels[1].Routes = []Prefix{MustPrefix("10.1.5.0/24")}
		},
		want: FieldErrors{
			{"tunnels[1].routes[0]", "10.1.5.0/24 overlaps 10.1.0.0/16 (tunnels[0].routes[0]), routed into another tunnel"},
		},
	},
	{
		name:   "unknown preset",
		mutate: func(c *Config) { c.Tunnels[0].Preset = "juniper" },
		want: FieldErrors{
			{"tunnels[0].preset", "\"juniper\" is not a known preset; use one of cisco-ios, fortigate, legacy, paloalto, pfsense, strongswan"},
		},
	},
	{
		name:   "ike proposal with 3des",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"3des-sha1-modp1024"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"3des-sha1-modp1024\" uses 3des: 3DES has a 64-bit block (Sweet32)"},
		},
	},
	{
		name:   "ike proposal with sha1",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"aes256-sha1-modp2048"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes256-sha1-modp2048\" uses sha1: SHA-1 is no longer safe for integrity or key derivation" + legacyHint},
		},
	},
	{
		name:   "ike proposal with modp1024",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"aes256-sha256-modp1024"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes256-sha256-modp1024\" uses modp1024: 1024-bit DH can be broken (Logjam)" + legacyHint},
		},
	},
	{
		name:   "ike proposal with md5",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"aes128-md5-modp2048"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes128-md5-modp2048\" uses md5: MD5 is broken"},
		},
	},
	{
		name: "legacy preset without the acknowledgment",
		mutate: func(c *Config) {
			c.Tunnels[0].Preset = LegacyPreset
			c.Tunnels[0].IKEProposals = []string{"aes128-sha1-modp1024"}
		},
		want: FieldErrors{
			{"tunnels[0].accept_weak_crypto", "must be true to use the \"legacy\" preset: it allows HMAC-SHA-1 and DH groups 2 and 5 for old devices, weaker than this box's defaults, and the tunnel is then marked \"weak crypto\"; set it to acknowledge that"},
		},
	},
	{
		name:   "acknowledgment without the legacy preset",
		mutate: func(c *Config) { c.Tunnels[0].AcceptWeakCrypto = true },
		want: FieldErrors{
			{"tunnels[0].accept_weak_crypto", "acknowledges weak crypto, but only the \"legacy\" preset allows it; set preset to \"legacy\" or leave this out"},
		},
	},
	{
		name: "legacy preset never allows 3des or md5",
		mutate: func(c *Config) {
			c.Tunnels[0].Preset, c.Tunnels[0].AcceptWeakCrypto = LegacyPreset, true
			c.Tunnels[0].IKEProposals = []string{"3des-sha1-modp1024", "aes128-md5-modp1024"}
			c.Tunnels[0].ESPProposals = []string{"des-sha1-modp1024"}
		},
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"3des-sha1-modp1024\" uses 3des: 3DES has a 64-bit block (Sweet32)"},
			{"tunnels[0].ike_proposals[1]", "\"aes128-md5-modp1024\" uses md5: MD5 is broken"},
			{"tunnels[0].esp_proposals[0]", "\"des-sha1-modp1024\" uses des: DES is broken"},
		},
	},
	{
		name: "legacy preset keeps the other limits",
		mutate: func(c *Config) {
			c.Tunnels[0].Preset, c.Tunnels[0].AcceptWeakCrypto = LegacyPreset, true
			c.Tunnels[0].IKEProposals = []string{"aes128-sha1-modp768", "aes128-sha1"}
		},
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes128-sha1-modp768\" uses modp768: 768-bit DH can be broken"},
			{"tunnels[0].ike_proposals[1]", "\"aes128-sha1\" names no Diffie-Hellman group (e.g. ecp384)"},
		},
	},
	{
		name:   "ike proposal with des",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"des-sha256-modp2048"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"des-sha256-modp2048\" uses des: DES is broken"},
		},
	},
	{
		name:   "ike proposal without dh",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"aes256-sha256"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes256-sha256\" names no Diffie-Hellman group (e.g. ecp384)"},
		},
	},
	{
		name:   "ike proposal gcm without prf",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"aes256gcm16-ecp384"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes256gcm16-ecp384\" has an AEAD cipher but no PRF (e.g. prfsha384)"},
		},
	},
	{
		name:   "ike proposal lone prf",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"aes256gcm16-prf-sha384-ecp384"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes256gcm16-prf-sha384-ecp384\" has a lone \"prf\"; strongSwan writes it joined to the hash, e.g. prfsha384"},
		},
	},
	{
		name:   "ike proposal unknown algorithm",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"rot13-sha256-modp2048"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"rot13-sha256-modp2048\" uses rot13, which is not on the list of algorithms this box allows"},
		},
	},
	{
		name:   "ike proposal default keyword",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"default"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"default\" is strongSwan's default set, which includes algorithms this box does not allow; list the proposals instead"},
		},
	},
	{
		name:   "ike proposal ipsec.conf strict marker",
		mutate: func(c *Config) { c.Tunnels[0].IKEProposals = []string{"aes256-sha256-modp2048!"} },
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes256-sha256-modp2048!\" ends in \"!\", an ipsec.conf marker; write \"aes256-sha256-modp2048\""},
		},
	},
	{
		name: "ikev1 with gcm ike proposal",
		mutate: func(c *Config) {
			c.Tunnels[0].IKEVersion = IKEv1
			c.Tunnels[0].IKEProposals = []string{"aes256gcm16-prfsha384-ecp384"}
		},
		want: FieldErrors{
			{"tunnels[0].ike_proposals[0]", "\"aes256gcm16-prfsha384-ecp384\" uses an AEAD cipher, which IKEv1 cannot use for IKE; use e.g. aes256-sha256-modp2048"},
		},
	},
	{
		name:   "esp proposal null",
		mutate: func(c *Config) { c.Tunnels[0].ESPProposals = []string{"null-sha256"} },
		want: FieldErrors{
			{"tunnels[0].esp_proposals[0]", "\"null-sha256\" uses null: null offers no protection"},
		},
	},
	{
		name:   "esp proposal without integrity",
		mutate: func(c *Config) { c.Tunnels[0].ESPProposals = []string{"aes256-modp2048"} },
		want: FieldErrors{
			{"tunnels[0].esp_proposals[0]", "\"aes256-modp2048\" has a non-AEAD cipher but no integrity algorithm (e.g. sha256)"},
		},
	},
	{
		name:   "esp proposal with prf",
		mutate: func(c *Config) { c.Tunnels[0].ESPProposals = []string{"aes256gcm16-prfsha256"} },
		want: FieldErrors{
			{"tunnels[0].esp_proposals[0]", "\"aes256gcm16-prfsha256\" has a PRF (prfsha256), which only IKE proposals take"},
		},
	},
	{
		name:   "esp proposal gcm8",
		mutate: func(c *Config) { c.Tunnels[0].ESPProposals = []string{"aes128gcm8"} },
		want: FieldErrors{
			{"tunnels[0].esp_proposals[0]", "\"aes128gcm8\" uses aes128gcm8: an 8-byte ICV is too short"},
		},
	},
	{
		name:   "esp proposal empty part",
		mutate: func(c *Config) { c.Tunnels[0].ESPProposals = []string{"aes256--sha256"} },
		want: FieldErrors{
			{"tunnels[0].esp_proposals[0]", "\"aes256--sha256\" has an empty part (two dashes in a row, or a dash at an end)"},
		},
	},
	{
		name:   "ike lifetime not a duration",
		mutate: func(c *Config) { c.Tunnels[0].IKELifetime = Duration{text: "3 hours"} },
		want: FieldErrors{
			{"tunnels[0].ike_lifetime", "\"3 hours\" is not a duration (like 50m, 3h or 1h30m)"},
		},
	},
	{
		name:   "child lifetime too short",
		mutate: func(c *Config) { c.Tunnels[0].ChildLifetime = Dur(30 * time.Second) },
		want: FieldErrors{
			{"tunnels[0].child_lifetime", "30s is outside the range 2m to 24h"},
		},
	},
	{
		name:   "ike lifetime too long",
		mutate: func(c *Config) { c.Tunnels[0].IKELifetime = Dur(48 * time.Hour) },
		want: FieldErrors{
			{"tunnels[0].ike_lifetime", "48h is outside the range 10m to 24h"},
		},
	},
	{
		name: "dpd timeout not above delay",
		mutate: func(c *Config) {
			c.Tunnels[0].DPDDelay, c.Tunnels[0].DPDTimeout = Dur(time.Minute), Dur(30*time.Second)
		},
		want: FieldErrors{
			{"tunnels[0].dpd_timeout", "30s must be longer than dpd_delay (1m)"},
		},
	},
	{
		name:   "unknown initiation",
		mutate: func(c *Config) { c.Tunnels[0].Initiation = "both" },
		want: FieldErrors{
			{"tunnels[0].initiation", "\"both\" must be initiator or responder"},
		},
	},
	{
		name:   "mobike with ikev1",
		mutate: func(c *Config) { on := true; c.Tunnels[0].IKEVersion = IKEv1; c.Tunnels[0].MOBIKE = &on },
		want: FieldErrors{
			{"tunnels[0].mobike", "needs IKEv2; turn it off for an IKEv1 tunnel"},
		},
	},
}

func TestValidateBadDocuments(t *testing.T) {
	if len(badDocuments) < 50 {
		t.Fatalf("only %d bad documents; the issue asks for at least 50", len(badDocuments))
	}
	for _, tc := range badDocuments {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			if diff := cmp.Diff(tc.want, c.Validate()); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
