package config

import (
	"net/netip"
	"slices"
	"time"
)

// Defaults. They are exported so the console, the web UI and the docs show
// the same numbers the box uses.
var (
	// LANFallback is the LAN address the box takes when no DHCP server
	// answers on the LAN, so an operator with a laptop and a cable can
	// always reach the setup page at https://192.168.77.1/.
	LANFallback = netip.MustParsePrefix("192.168.77.1/24")

	// DefaultInterceptRange is the router's intercept range and every
	// tunnel's default local network (RFC 6598 shared address space, rarely
	// used inside a site).
	DefaultInterceptRange = netip.MustParsePrefix("100.64.0.0/10")
	// DefaultInsideAddress is the first address of the intercept range.
	DefaultInsideAddress = netip.MustParseAddr("100.64.0.1")
)

const (
	// DefaultHostname is used when the document names none.
	DefaultHostname = "tunneler"
	// DefaultIdentityPath is where the enrolled router identity lives on /perm.
	DefaultIdentityPath = "/perm/ziti/router.yml"

	// Lifetimes sit below the defaults of the devices we peer with (IKE:
	// Cisco 24h, FortiGate 24h, Palo Alto 8h, pfSense 8h, strongSwan 4h;
	// child: 1h almost everywhere), so the box rekeys first and an SA never
	// expires on the far side while the box still uses it.
	DefaultIKELifetime   = 3 * time.Hour
	DefaultChildLifetime = 50 * time.Minute
	DefaultDPDDelay      = 30 * time.Second
	DefaultDPDTimeout    = 150 * time.Second
)

// WithDefaults returns a copy of c with every left-out field filled in.
// Decode does not apply it: the store keeps what the operator wrote, so a
// later firmware with better defaults applies those. Call it before apply
// and before showing a form.
func (c Config) WithDefaults() Config {
	c = c.clone()
	if c.Version == 0 {
		c.Version = CurrentVersion
	}
	if c.System.Hostname == "" {
		c.System.Hostname = DefaultHostname
	}
	for _, role := range []Role{RoleWAN, RoleLAN} {
		if !slices.ContainsFunc(c.Interfaces, func(i Interface) bool { return i.Role == role }) {
			c.Interfaces = append(c.Interfaces, Interface{Role: role})
		}
	}
	for i := range c.Interfaces {
		if c.Interfaces[i].Mode == "" {
			c.Interfaces[i].Mode = ModeDHCP
		}
	}

	r := &c.Router
	if r.IdentityPath == "" {
		r.IdentityPath = DefaultIdentityPath
	}
	if r.InterceptRange.IsZero() {
		r.InterceptRange = PrefixFrom(DefaultInterceptRange)
	}
	if r.InsideAddress.IsZero() {
		r.InsideAddress = AddrFrom(DefaultInsideAddress)
		// A custom range gets its own first address, not 100.64.0.1.
		if p := r.InterceptRange.Prefix; p.IsValid() && p != DefaultInterceptRange {
			r.InsideAddress = AddrFrom(p.Masked().Addr().Next())
		}
	}

	local := r.InterceptRange
	if !local.IsValid() {
		// Validate reports the range; do not repeat it for every tunnel.
		local = PrefixFrom(DefaultInterceptRange)
	}
	for i := range c.Tunnels {
		c.Tunnels[i] = c.Tunnels[i].withDefaults(local)
	}
	for i := range c.Sites {
		c.Sites[i] = c.Sites[i].withDefaults(local, r.InsideAddress)
	}
	return c
}

func (t Tunnel) withDefaults(interceptRange Prefix) Tunnel {
	if t.IKEVersion == "" {
		t.IKEVersion = IKEv2
	}
	if t.RemoteID == "" && t.Auth != AuthCert {
		// A certificate's identity comes from the certificates
		// (Certificates.attach), not from the address.
		t.RemoteID = t.PeerAddress
	}
	if len(t.LocalNetworks) == 0 {
		t.LocalNetworks = []Prefix{interceptRange}
	}
	if t.Mode == "" {
		t.Mode = ModePolicy
	}
	if t.Mode == ModeRoute && len(t.Routes) == 0 {
		t.Routes = slices.Clone(t.RemoteNetworks)
	}
	if t.Initiation == "" {
		t.Initiation = Initiator
	}
	p, ok := presets[t.Preset]
	if !ok {
		p = presets[""]
	}
	if len(t.IKEProposals) == 0 {
		t.IKEProposals = slices.Clone(p.IKE)
		if t.IKEVersion == IKEv1 {
			// IKEv1 has no AEAD ciphers for the IKE SA itself.
			t.IKEProposals = slices.DeleteFunc(t.IKEProposals, isAEAD)
		}
	}
	if len(t.ESPProposals) == 0 {
		t.ESPProposals = slices.Clone(p.ESP)
	}
	if t.IKELifetime.IsZero() {
		t.IKELifetime = Dur(p.IKELifetime)
	}
	if t.ChildLifetime.IsZero() {
		t.ChildLifetime = Dur(p.ChildLifetime)
	}
	if t.DPDDelay.IsZero() {
		t.DPDDelay = Dur(DefaultDPDDelay)
	}
	if t.DPDTimeout.IsZero() {
		t.DPDTimeout = Dur(DefaultDPDTimeout)
	}
	if t.MOBIKE == nil {
		on := t.IKEVersion == IKEv2
		t.MOBIKE = &on
	}
	return t
}

// clone deep-copies the slices and pointers so WithDefaults and migrations
// never write into the caller's document.
// Clone returns a deep copy of c: changing its lists leaves c as it was.
func (c Config) Clone() Config { return c.clone() }

func (c Config) clone() Config {
	c.System.NTPServers = slices.Clone(c.System.NTPServers)
	c.Interfaces = cloneEach(c.Interfaces, func(ifc *Interface) {
		ifc.DNS = slices.Clone(ifc.DNS)
	})
	c.Admin.AllowedNetworks = slices.Clone(c.Admin.AllowedNetworks)
	c.Tunnels = cloneEach(c.Tunnels, func(t *Tunnel) {
		t.LocalNetworks = slices.Clone(t.LocalNetworks)
		t.RemoteNetworks = slices.Clone(t.RemoteNetworks)
		t.Routes = slices.Clone(t.Routes)
		t.IKESettings = cloneIKE(t.IKESettings)
	})
	c.Certificates = c.Certificates.clone()
	c.Profiles = cloneEach(c.Profiles, func(pr *Profile) {
		pr.IKESettings = cloneIKE(pr.IKESettings)
	})
	c.Sites = cloneEach(c.Sites, func(s *Site) {
		s.LocalNetworks = slices.Clone(s.LocalNetworks)
		s.RemoteNetworks = slices.Clone(s.RemoteNetworks)
		s.Remotes = slices.Clone(s.Remotes)
	})
	return c
}

// cloneEach copies list, then has deepen give each entry its own copies
// of what it would still share with the original (its lists, pointers).
func cloneEach[T any](list []T, deepen func(*T)) []T {
	list = slices.Clone(list)
	for i := range list {
		deepen(&list[i])
	}
	return list
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
