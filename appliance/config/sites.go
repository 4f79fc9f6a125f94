package config

import (
	"fmt"
	"slices"
	"time"
)

// Profile is a set of IPsec settings (proposals, lifetimes, DPD,
// identities, PSK) that several remotes refer to by name, as 128T's
// ipsec-profile does. Fields left out come from Preset, then the defaults,
// exactly as for a Tunnel.
type Profile struct {
	// Name is how remotes refer to the profile (a-z, 0-9, '-').
	Name string `json:"name"`
	// IKESettings are written inline, as in a Tunnel; RemoteID defaults
	// to each remote's peer address.
	IKESettings
}

// Site is a remote site reached over up to MaxRemotes VPN devices or links.
// One remote carries the site's remote networks at a time (the active
// one); the others keep their IKE SAs up as standbys so a failover only
// moves the XFRM policies. Remotes are in order of preference: the site
// returns to an earlier remote once it has been healthy for HoldDown.
type Site struct {
	Name string `json:"name"`
	// LocalNetworks default to the router's intercept range.
	LocalNetworks  []Prefix `json:"local_networks,omitempty"`
	RemoteNetworks []Prefix `json:"remote_networks"`
	Remotes        []Remote `json:"remotes"`
	// HoldDown is how long a more preferred remote must stay healthy
	// before the site fails back to it (default DefaultHoldDown).
	HoldDown Duration `json:"hold_down,omitzero"`
	// RestartGrace is how long a failed active remote gets after its
	// tunnel is restarted before the site fails over (default
	// DefaultRestartGrace). Restart and failover race for the same goal;
	// a short grace (down to 100ms) favours failing over.
	RestartGrace Duration `json:"restart_grace,omitzero"`
	// Monitor probes the active remote through the tunnel.
	Monitor Monitor `json:"monitor,omitzero"`
}

// Remote is one VPN device (or one link of it) serving a site.
type Remote struct {
	PeerAddress string `json:"peer_address"`
	// Profile names an entry of Config.Profiles.
	Profile string `json:"profile"`
	// LocalAddress pins the address IKE is sent from (e.g. the second WAN).
	LocalAddress Addr `json:"local_address,omitzero"`
	// MonitorTarget overrides the site monitor's target for this remote.
	MonitorTarget string `json:"monitor_target,omitempty"`
}

// MonitorType is how a tunnel monitor probes.
type MonitorType string

const (
	MonitorICMP MonitorType = "icmp"
	MonitorTCP  MonitorType = "tcp"
)

// Monitor says how the box checks that traffic crosses a remote's tunnel.
// Without a Target the site relies on charon's own view (DPD, SA state).
type Monitor struct {
	Type MonitorType `json:"type,omitempty"`
	// Target is an address behind the remote site (icmp) or address:port
	// (tcp), inside the site's remote networks so the probe goes through
	// the tunnel.
	Target string `json:"target,omitempty"`
	// Source is the probe's source address (default: the router's inside
	// address, which is in the local networks so the probe enters the tunnel).
	Source   Addr     `json:"source,omitzero"`
	Interval Duration `json:"interval,omitzero"`
	Timeout  Duration `json:"timeout,omitzero"`
	// Retries is how many probes in a row must fail before the remote is
	// down (default DefaultMonitorRetries).
	Retries int `json:"retries,omitempty"`
}

// Site defaults and limits.
const (
	MaxRemotes            = 4
	maxSites              = 1024
	maxProfiles           = 1024 // one per site at most is the useful bound
	DefaultHoldDown       = 30 * time.Second
	DefaultRestartGrace   = time.Second
	DefaultMonitorRetries = 3
	// 128T defaults to 120 s; the box aims at a failover within seconds.
	// The worst-case loss before a failover is about
	// interval*retries + timeout + restart_grace (+ the policy move, ~ms):
	// with interval 1s, the defaults give 3s + 0.5s + 1s = 4.5s.
	DefaultMonitorInterval = 2 * time.Second
	DefaultMonitorTimeout  = 500 * time.Millisecond
)

// RemoteTunnelName is the charon connection (and XFRM tunnel) name of a
// site's remote i (0-based): "<site>-r<i+1>".
func RemoteTunnelName(site string, i int) string { return fmt.Sprintf("%s-r%d", site, i+1) }

func (s Site) withDefaults(interceptRange Prefix, inside Addr) Site {
	if len(s.LocalNetworks) == 0 {
		s.LocalNetworks = []Prefix{interceptRange}
	}
	if s.HoldDown.IsZero() {
		s.HoldDown = Dur(DefaultHoldDown)
	}
	if s.RestartGrace.IsZero() {
		s.RestartGrace = Dur(DefaultRestartGrace)
	}
	m := &s.Monitor
	if m.Target != "" && m.Type == "" {
		m.Type = MonitorICMP
	}
	if m.Source.IsZero() {
		m.Source = inside
	}
	if m.Interval.IsZero() {
		m.Interval = Dur(DefaultMonitorInterval)
	}
	if m.Timeout.IsZero() {
		m.Timeout = Dur(DefaultMonitorTimeout)
	}
	if m.Retries == 0 {
		m.Retries = DefaultMonitorRetries
	}
	return s
}

// Profile returns the named profile.
func (c Config) Profile(name string) (Profile, bool) {
	for _, p := range c.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// RemoteTunnel is the tunnel charon and xfrm need for remote i of site s:
// the site's networks, the remote's peer and the profile's settings. Call
// it on a config with defaults applied (WithDefaults), or apply them to
// the result.
func (c Config) RemoteTunnel(s Site, i int) Tunnel {
	r := s.Remotes[i]
	p, _ := c.Profile(r.Profile)
	return Tunnel{
		Name:           RemoteTunnelName(s.Name, i),
		Site:           s.Name,
		PeerAddress:    r.PeerAddress,
		LocalAddress:   r.LocalAddress,
		LocalNetworks:  slices.Clone(s.LocalNetworks),
		RemoteNetworks: slices.Clone(s.RemoteNetworks),
		Mode:           ModePolicy,
		IKESettings:    cloneIKE(p.IKESettings),
	}
}

// AllTunnels is what charon loads: the plain tunnels, then every remote of
// every site (standbys keep their SAs up, so failing over needs no IKE
// exchange). The firewall admits IKE and ESP from all of their peers.
// With defaults applied.
func (c Config) AllTunnels() []Tunnel {
	c = c.WithDefaults()
	out := slices.Clone(c.Tunnels)
	for _, s := range c.Sites {
		for i := range s.Remotes {
			out = append(out, c.RemoteTunnel(s, i).withDefaults(c.Router.InterceptRange))
		}
	}
	for i := range out {
		out[i] = c.Certificates.attach(out[i])
	}
	return out
}

// Expand returns c with defaults applied and, appended to Tunnels, the
// tunnel of each site's active remote (active maps site name to remote
// index; a site missing from it uses remote 0). This is the config to
// hand to xfrm.FromConfig: only the active remote gets XFRM policies, so
// the remote networks have exactly one out policy whose template names
// the active remote's reqid and peer. Moving a site to another remote
// changes that template under the same selectors; xfrm.Apply installs it
// with XFRM_MSG_UPDPOLICY, which replaces the policy in place, so there is
// no moment without a policy for the remote networks (and with no SA for
// the new reqid yet the kernel drops the packets: never clear text).
// Use reqids from ipsec.ReqIDs(c.AllTunnels()).
func (c Config) Expand(active map[string]int) Config {
	c = c.WithDefaults()
	for _, s := range c.Sites {
		i := active[s.Name]
		if i < 0 || i >= len(s.Remotes) {
			i = 0
		}
		if len(s.Remotes) == 0 {
			continue
		}
		c.Tunnels = append(c.Tunnels, c.RemoteTunnel(s, i).withDefaults(c.Router.InterceptRange))
	}
	return c
}
