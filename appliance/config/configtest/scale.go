// Package configtest builds large valid config documents for tests and
// benchmarks: a head-end with many tunnels and many sites, as issue 18's
// figures ask for (10, 100, 1,000 tunnels; sites of up to four remotes).
// Remote peers need not exist: their addresses come from the benchmarking
// range 198.18.0.0/15.
package configtest

import (
	"fmt"
	"net/netip"

	"github.com/tunneler/tunneler/appliance/config"
)

// Scale returns a valid document with the given number of tunnels and of
// sites with remotes remotes each (0 to config.MaxRemotes). Tunnel i is
// "t<i>" with peer 198.18.x.y and remote network 10.x.y.0/24; site i is
// "s<i>", its remotes' peers are in 198.19.0.0/16 and its remote network
// 172.16.0.0/12's i-th /24. Every tunnel has its own strong PSK; the
// sites share a few profiles, as a head-end's would.
func Scale(tunnels, sites, remotes int) config.Config {
	c := config.Config{
		Version: config.CurrentVersion,
		System:  config.System{Hostname: "headend"},
		Interfaces: []config.Interface{
			{Role: config.RoleWAN, Mode: config.ModeStatic, Address: config.MustPrefix("198.51.100.10/24"), Gateway: config.MustAddr("198.51.100.1")},
			{Role: config.RoleLAN, Mode: config.ModeStatic, Address: config.MustPrefix("192.168.10.1/24")},
		},
	}
	for i := range tunnels {
		c.Tunnels = append(c.Tunnels, config.Tunnel{
			Name:           TunnelName(i),
			PeerAddress:    addr(198, 18, i+1).String(),
			RemoteNetworks: []config.Prefix{{Prefix: netip.PrefixFrom(addr(10, 0, i<<8), 24)}},
			IKESettings:    config.IKESettings{PSK: config.GeneratePSK()},
		})
	}
	if sites > 0 && remotes > 0 {
		for _, preset := range []string{"strongswan", "fortigate"} {
			c.Profiles = append(c.Profiles, config.Profile{Name: preset, IKESettings: config.IKESettings{Preset: preset, PSK: config.GeneratePSK()}})
		}
	}
	for i := range sites {
		s := config.Site{
			Name:           fmt.Sprintf("s%d", i+1),
			RemoteNetworks: []config.Prefix{{Prefix: netip.PrefixFrom(addr(172, 16, i<<8), 24)}},
		}
		for r := range remotes {
			s.Remotes = append(s.Remotes, config.Remote{
				PeerAddress: addr(198, 19, i*config.MaxRemotes+r+1).String(),
				Profile:     c.Profiles[r%len(c.Profiles)].Name,
			})
		}
		c.Sites = append(c.Sites, s)
	}
	return c
}

// TunnelName is the name Scale gives tunnel i (0-based).
func TunnelName(i int) string { return fmt.Sprintf("t%d", i+1) }

// addr is a.b plus n as the last two octets' worth (n < 65536).
func addr(a, b byte, n int) netip.Addr {
	return netip.AddrFrom4([4]byte{a, b + byte(n>>16), byte(n >> 8), byte(n)})
}
