package config

import "fmt"

// Limits on list lengths. A head-end runs hundreds of sites (issue 18);
// charon handles thousands of connections and the firewall keeps its
// per-peer cost flat (sets), so the tunnel and site limits are set by
// what a save costs: Validate's overlap checks are indexed (netIndex,
// not quadratic) and a 1,024-tunnel document validates in milliseconds
// (BenchmarkValidate). The per-list limits keep one tunnel's lists sane.
const (
	maxTunnels    = 1024
	maxNetworks   = 256 // per list
	maxProposals  = 16
	maxInterfaces = 8
	maxServers    = 8 // NTP and DNS
)

// enforceLimits reports lists that are too long and cuts them, so the
// remaining checks run on a bounded document.
func enforceLimits(p *problems, c *Config) {
	cut := func(field string, n, max int) int {
		if n > max {
			p.add(field, "has %d entries; at most %d are allowed", n, max)
			return max
		}
		return n
	}
	cutIKE := func(base string, s *IKESettings) {
		s.IKEProposals = s.IKEProposals[:cut(fld(base, "ike_proposals"), len(s.IKEProposals), maxProposals)]
		s.ESPProposals = s.ESPProposals[:cut(fld(base, "esp_proposals"), len(s.ESPProposals), maxProposals)]
	}
	c.System.NTPServers = c.System.NTPServers[:cut("system.ntp_servers", len(c.System.NTPServers), maxServers)]
	c.Interfaces = c.Interfaces[:cut("interfaces", len(c.Interfaces), maxInterfaces)]
	for i := range c.Interfaces {
		ifc := &c.Interfaces[i]
		ifc.DNS = ifc.DNS[:cut(fmt.Sprintf("interfaces[%d].dns", i), len(ifc.DNS), maxServers)]
	}
	c.Admin.AllowedNetworks = c.Admin.AllowedNetworks[:cut("admin.allowed_networks", len(c.Admin.AllowedNetworks), maxNetworks)]
	c.Tunnels = c.Tunnels[:cut("tunnels", len(c.Tunnels), maxTunnels)]
	for i := range c.Tunnels {
		t := &c.Tunnels[i]
		base := idx("tunnels", i)
		t.LocalNetworks = t.LocalNetworks[:cut(fld(base, "local_networks"), len(t.LocalNetworks), maxNetworks)]
		t.RemoteNetworks = t.RemoteNetworks[:cut(fld(base, "remote_networks"), len(t.RemoteNetworks), maxNetworks)]
		t.Routes = t.Routes[:cut(fld(base, "routes"), len(t.Routes), maxNetworks)]
		cutIKE(base, &t.IKESettings)
	}
	c.Profiles = c.Profiles[:cut("profiles", len(c.Profiles), maxProfiles)]
	for i := range c.Profiles {
		cutIKE(idx("profiles", i), &c.Profiles[i].IKESettings)
	}
	c.Sites = c.Sites[:cut("sites", len(c.Sites), maxSites)]
	for i := range c.Sites {
		s := &c.Sites[i]
		base := idx("sites", i)
		s.LocalNetworks = s.LocalNetworks[:cut(fld(base, "local_networks"), len(s.LocalNetworks), maxNetworks)]
		s.RemoteNetworks = s.RemoteNetworks[:cut(fld(base, "remote_networks"), len(s.RemoteNetworks), maxNetworks)]
		s.Remotes = s.Remotes[:cut(fld(base, "remotes"), len(s.Remotes), MaxRemotes)]
	}
}
