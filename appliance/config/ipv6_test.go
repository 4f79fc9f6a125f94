package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// IPv6 is for the outside: the WAN's own addressing and the peer's
// address. Each case changes the valid document one way; nil want means
// the document stays valid.
func TestValidateIPv6(t *testing.T) {
	const insideV6 = "fd00:64::/64 is an IPv6 network; the networks inside the tunnels must be IPv4 (the router intercepts IPv4 only). IPv6 works on the outside: the WAN and the peer's address"
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   FieldErrors
	}{
		{"slaac on WAN", func(c *Config) { c.Interfaces[0].IPv6 = IPv6SLAAC }, nil},
		{"dhcpv6 on WAN", func(c *Config) { c.Interfaces[0].IPv6 = IPv6DHCPv6 }, nil},
		{"off on WAN", func(c *Config) { c.Interfaces[0].IPv6 = IPv6Off }, nil},
		{"static on WAN", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6Static
			c.Interfaces[0].IPv6Address = MustPrefix("2001:db8:1::10/64")
			c.Interfaces[0].IPv6Gateway = MustAddr("2001:db8:1::1")
		}, nil},
		{"static with link-local gateway", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6Static
			c.Interfaces[0].IPv6Address = MustPrefix("2001:db8:1::10/64")
			c.Interfaces[0].IPv6Gateway = MustAddr("fe80::1")
		}, nil},
		{"peer is an IPv6 address", func(c *Config) {
			c.Tunnels[0].PeerAddress = "2001:db8:5::1"
			c.Tunnels[0].RemoteID = "2001:db8:5::1"
		}, nil},
		{"local address is IPv6", func(c *Config) { c.Tunnels[1].LocalAddress = MustAddr("2001:db8:1::10") }, nil},
		{"IPv4 local address for an IPv6 peer", func(c *Config) {
			c.Tunnels[0].PeerAddress = "2001:db8:5::1"
			c.Tunnels[0].RemoteID = "2001:db8:5::1"
			c.Tunnels[0].LocalAddress = MustAddr("198.51.100.10")
		}, FieldErrors{
			{"tunnels[0].local_address", "198.51.100.10 and the peer 2001:db8:5::1 are not both IPv4 or both IPv6"},
		}},
		{"unknown mode", func(c *Config) { c.Interfaces[0].IPv6 = "auto" }, FieldErrors{
			{"interfaces[0].ipv6", `"auto" is not an IPv6 mode; it must be off, slaac, dhcpv6 or static`},
		}},
		{"on the LAN", func(c *Config) { c.Interfaces[1].IPv6 = IPv6SLAAC }, FieldErrors{
			{"interfaces[1].ipv6", "IPv6 is for the WAN only; the LAN stays IPv4 (set it to off)"},
		}},
		{"static LAN", func(c *Config) {
			c.Interfaces[1].IPv6 = IPv6Static
			c.Interfaces[1].IPv6Address = MustPrefix("2001:db8:1::10/64")
		}, FieldErrors{
			{"interfaces[1].ipv6", "IPv6 is for the WAN only; the LAN stays IPv4 (set it to off)"},
		}},
		{"address without static", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6SLAAC
			c.Interfaces[0].IPv6Address = MustPrefix("2001:db8:1::10/64")
			c.Interfaces[0].IPv6Gateway = MustAddr("2001:db8:1::1")
		}, FieldErrors{
			{"interfaces[0].ipv6_address", "is only used with ipv6 static; remove it or set ipv6 to static"},
			{"interfaces[0].ipv6_gateway", "is only used with ipv6 static; remove it or set ipv6 to static"},
		}},
		{"static without address", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6Static
		}, FieldErrors{
			{"interfaces[0].ipv6_address", "is missing; ipv6 static needs an address like 2001:db8::10/64"},
		}},
		{"static IPv4 address", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6Static
			c.Interfaces[0].IPv6Address = MustPrefix("198.51.100.11/24")
			c.Interfaces[0].IPv6Gateway = MustAddr("2001:db8:1::1")
		}, FieldErrors{
			{"interfaces[0].ipv6_address", `"198.51.100.11/24" is not an IPv6 address with a prefix length (like 2001:db8::10/64)`},
		}},
		{"static without gateway", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6Static
			c.Interfaces[0].IPv6Address = MustPrefix("2001:db8:1::10/64")
		}, FieldErrors{
			{"interfaces[0].ipv6_gateway", "is missing; ipv6 static needs the IPv6 default gateway"},
		}},
		{"gateway off subnet", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6Static
			c.Interfaces[0].IPv6Address = MustPrefix("2001:db8:1::10/64")
			c.Interfaces[0].IPv6Gateway = MustAddr("2001:db8:2::1")
		}, FieldErrors{
			{"interfaces[0].ipv6_gateway", "2001:db8:2::1 is neither in the interface's subnet 2001:db8:1::/64 nor link-local (fe80::/10)"},
		}},
		{"gateway IPv4", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6Static
			c.Interfaces[0].IPv6Address = MustPrefix("2001:db8:1::10/64")
			c.Interfaces[0].IPv6Gateway = MustAddr("198.51.100.1")
		}, FieldErrors{
			{"interfaces[0].ipv6_gateway", `"198.51.100.1" is not an IPv6 address`},
		}},
		{"static link-local address", func(c *Config) {
			c.Interfaces[0].IPv6 = IPv6Static
			c.Interfaces[0].IPv6Address = MustPrefix("fe80::10/64")
			c.Interfaces[0].IPv6Gateway = MustAddr("fe80::1")
		}, FieldErrors{
			{"interfaces[0].ipv6_address", "fe80::10 is a link-local address, which is not routed"},
		}},
		{"IPv6 remote network", func(c *Config) {
			c.Tunnels[0].RemoteNetworks = []Prefix{MustPrefix("10.1.0.0/16"), MustPrefix("2001:db8:9::/48")}
		}, FieldErrors{
			{"tunnels[0].remote_networks[1]", "2001:db8:9::/48 is an IPv6 network; the networks inside the tunnels must be IPv4 (the router intercepts IPv4 only). IPv6 works on the outside: the WAN and the peer's address"},
		}},
		{"IPv6 local network", func(c *Config) {
			c.Tunnels[1].LocalNetworks = []Prefix{MustPrefix("100.64.0.0/10"), MustPrefix("fd00:64::/64")}
		}, FieldErrors{
			{"tunnels[1].local_networks[1]", "fd00:64::/64 is an IPv6 network; the networks inside the tunnels must be IPv4 (the router intercepts IPv4 only). IPv6 works on the outside: the WAN and the peer's address"},
		}},
		{"IPv6 intercept range", func(c *Config) {
			c.Router.InterceptRange = MustPrefix("fd00:64::/64")
			c.Router.InsideAddress = MustAddr("fd00:64::1")
		}, FieldErrors{
			{"router.intercept_range", insideV6},
			// The tunnels' local networks default to the range.
			{"tunnels[0].local_networks[0]", insideV6},
			{"tunnels[1].local_networks[0]", insideV6},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			if diff := cmp.Diff(tc.want, c.Validate()); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The env file takes the WAN's IPv6 beside the vnf-ipsec variables; an
// IPv6 peer needs nothing new, IPSEC_REMOTEIP takes it as it is.
func TestImportEnvIPv6(t *testing.T) {
	tunnel := "IPSEC_REMOTEIP=2001:db8:5::1\nIPSEC_REMOTENET=10.1.0.0/16\nIPSEC_PSK=" + strongPSK1 + "\n"
	for _, tc := range []struct {
		name, file string
		wan        []Interface
		want       EnvProblems
	}{
		{name: "no IPv6 variables", file: tunnel},
		{name: "slaac", file: tunnel + "WAN_IPV6=slaac\n",
			wan: []Interface{{Role: RoleWAN, Mode: ModeDHCP, IPv6: IPv6SLAAC}}},
		{name: "dhcpv6, any case", file: tunnel + "WAN_IPV6=DHCPv6\n",
			wan: []Interface{{Role: RoleWAN, Mode: ModeDHCP, IPv6: IPv6DHCPv6}}},
		{name: "static", file: tunnel + "WAN_IPV6=static\nWAN_IPV6_ADDRESS=2001:db8:1::10/64\nWAN_IPV6_GATEWAY=fe80::1\n",
			wan: []Interface{{Role: RoleWAN, Mode: ModeDHCP, IPv6: IPv6Static,
				IPv6Address: MustPrefix("2001:db8:1::10/64"), IPv6Gateway: MustAddr("fe80::1")}}},
		{name: "static without gateway", file: tunnel + "WAN_IPV6=static\nWAN_IPV6_ADDRESS=2001:db8:1::10/64\n",
			wan:  []Interface{{Role: RoleWAN, Mode: ModeDHCP, IPv6: IPv6Static, IPv6Address: MustPrefix("2001:db8:1::10/64")}},
			want: EnvProblems{{Name: "WAN_IPV6_GATEWAY", Message: "is not set; ipv6 static needs the IPv6 default gateway"}}},
		{name: "unknown mode", file: tunnel + "WAN_IPV6=yes\n",
			wan:  []Interface{{Role: RoleWAN, Mode: ModeDHCP, IPv6: "yes"}},
			want: EnvProblems{{Line: 4, Name: "WAN_IPV6", Message: `"yes" is not an IPv6 mode; it must be off, slaac, dhcpv6 or static`}}},
		{name: "IPv6 inside network", file: "IPSEC_REMOTEIP=2001:db8:5::1\nIPSEC_REMOTENET=2001:db8:9::/48\nIPSEC_PSK=" + strongPSK1 + "\n",
			want: EnvProblems{{Line: 2, Name: "IPSEC_REMOTENET", Message: "2001:db8:9::/48 is an IPv6 network; the networks inside the tunnels must be IPv4 (the router intercepts IPv4 only). IPv6 works on the outside: the WAN and the peer's address"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, probs := ImportEnv(strings.NewReader(tc.file))
			if diff := cmp.Diff(tc.want, probs); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wan, c.Interfaces); diff != "" {
				t.Errorf("interfaces (-want +got):\n%s", diff)
			}
			if c.Tunnels[0].PeerAddress != "2001:db8:5::1" {
				t.Errorf("peer = %q, want the IPv6 address as written", c.Tunnels[0].PeerAddress)
			}
		})
	}
}
