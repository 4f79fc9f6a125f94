package config

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
	c.System.NTPServers = limit(p, "system.ntp_servers", c.System.NTPServers, maxServers)
	c.Interfaces = limitEach(p, "interfaces", c.Interfaces, maxInterfaces, func(base string, ifc *Interface) {
		ifc.DNS = limit(p, fld(base, "dns"), ifc.DNS, maxServers)
	})
	c.Admin.AllowedNetworks = limit(p, "admin.allowed_networks", c.Admin.AllowedNetworks, maxNetworks)
	c.Tunnels = limitEach(p, "tunnels", c.Tunnels, maxTunnels, func(base string, t *Tunnel) {
		t.LocalNetworks = limit(p, fld(base, "local_networks"), t.LocalNetworks, maxNetworks)
		t.RemoteNetworks = limit(p, fld(base, "remote_networks"), t.RemoteNetworks, maxNetworks)
		t.Routes = limit(p, fld(base, "routes"), t.Routes, maxNetworks)
		limitIKE(p, base, &t.IKESettings)
	})
	c.Profiles = limitEach(p, "profiles", c.Profiles, maxProfiles, func(base string, pr *Profile) {
		limitIKE(p, base, &pr.IKESettings)
	})
	c.Sites = limitEach(p, "sites", c.Sites, maxSites, func(base string, s *Site) {
		s.LocalNetworks = limit(p, fld(base, "local_networks"), s.LocalNetworks, maxNetworks)
		s.RemoteNetworks = limit(p, fld(base, "remote_networks"), s.RemoteNetworks, maxNetworks)
		s.Remotes = limit(p, fld(base, "remotes"), s.Remotes, MaxRemotes)
	})
}

func limitIKE(p *problems, base string, s *IKESettings) {
	s.IKEProposals = limit(p, fld(base, "ike_proposals"), s.IKEProposals, maxProposals)
	s.ESPProposals = limit(p, fld(base, "esp_proposals"), s.ESPProposals, maxProposals)
}

// limit cuts list, the value of field, to max entries, and reports it if
// it was longer.
func limit[T any](p *problems, field string, list []T, max int) []T {
	if len(list) > max {
		p.add(field, "has %d entries; at most %d are allowed", len(list), max)
		return list[:max]
	}
	return list
}

// limitEach cuts list like limit, then applies each to every entry left
// with the entry's path ("tunnels[3]").
func limitEach[T any](p *problems, field string, list []T, max int, each func(base string, item *T)) []T {
	list = limit(p, field, list, max)
	for i := range list {
		each(idx(field, i), &list[i])
	}
	return list
}
