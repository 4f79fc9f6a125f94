package config

import "slices"

// CurrentVersion is the document version this firmware writes. Older
// versions are migrated forward on Decode (see migrate.go).
const CurrentVersion = 3

// Config is everything the box does, in one document. The zero value of
// an optional field means "use the default" (see WithDefaults).
type Config struct {
	Version    int         `json:"version"`
	System     System      `json:"system"`
	Interfaces []Interface `json:"interfaces,omitempty"`
	Admin      Admin       `json:"admin"`
	Tunnels    []Tunnel    `json:"tunnels,omitempty"`
	// Profiles and Sites (version 3) describe sites with several remotes
	// and failover; see sites.go. Plain tunnels stay as they are.
	Profiles []Profile `json:"profiles,omitempty"`
	Sites    []Site    `json:"sites,omitempty"`
	Router   Router    `json:"router"`
	// Certificates are the box's key and certificate and the CAs and
	// remote devices' certificates it trusts, for tunnels whose Auth is
	// AuthCert (certificates.go).
	Certificates Certificates `json:"certificates,omitzero"`
}

// System holds settings of the box as a whole.
type System struct {
	Hostname string `json:"hostname,omitempty"`
	// Timezone is an IANA name such as "Europe/Berlin"; empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// NTPServers are host names or addresses; the clock must be sane for
	// certificates, charon's lifetimes and the router's enrollment token.
	NTPServers []string `json:"ntp_servers,omitempty"`
	// RemoteSyslog is host or host:port (UDP, port 514 when none is
	// given), or udp://host[:port] or tcp://host[:port]; init forwards its
	// own, charon's and the router's log lines there (appliance/remotelog).
	// Empty sends logs nowhere but the console and the web UI.
	RemoteSyslog string `json:"remote_syslog,omitempty"`
}

// Role says what an interface is for.
type Role string

const (
	// RoleWAN faces the remote site's VPN device and the OpenZiti controller.
	RoleWAN Role = "wan"
	// RoleLAN is the local management network (web UI, console-less setup).
	RoleLAN Role = "lan"
)

// AddrMode says how an interface gets its address.
type AddrMode string

const (
	ModeDHCP   AddrMode = "dhcp"
	ModeStatic AddrMode = "static"
)

// IPv6Mode says how the WAN takes IPv6. IPv6 is for the outside only: the
// networks inside the tunnels stay IPv4, as the router's intercept range is.
type IPv6Mode string

const (
	// IPv6Off (or empty) leaves the WAN without IPv6 beyond its link-local
	// address, and ignores router advertisements.
	IPv6Off IPv6Mode = "off"
	// IPv6SLAAC takes addresses and the default route from router
	// advertisements (the kernel's accept_ra and autoconf).
	IPv6SLAAC IPv6Mode = "slaac"
	// IPv6DHCPv6 asks a DHCPv6 server for an address; the default route
	// still comes from router advertisements, as DHCPv6 has none.
	IPv6DHCPv6 IPv6Mode = "dhcpv6"
	// IPv6Static uses IPv6Address and IPv6Gateway.
	IPv6Static IPv6Mode = "static"
)

// Interface binds a role to a NIC and says how it is addressed.
type Interface struct {
	Role Role `json:"role"`
	// MAC binds the role to a NIC so names stay stable across reboots and
	// hardware changes; empty means by PCI order (first NIC WAN, second LAN).
	MAC  string   `json:"mac,omitempty"`
	Mode AddrMode `json:"mode,omitempty"`
	// Address (static mode) is the box's address with the subnet length,
	// e.g. 192.0.2.10/24.
	Address Prefix `json:"address,omitzero"`
	Gateway Addr   `json:"gateway,omitzero"`
	DNS     []Addr `json:"dns,omitempty"`
	// IPv6 (WAN only) says how the WAN takes IPv6 beside its IPv4
	// address; empty means off.
	IPv6 IPv6Mode `json:"ipv6,omitempty"`
	// IPv6Address and IPv6Gateway (ipv6 static) are the WAN's IPv6
	// address with its prefix length, e.g. 2001:db8::10/64, and the
	// default route's next hop (in that prefix, or link-local).
	IPv6Address Prefix `json:"ipv6_address,omitzero"`
	IPv6Gateway Addr   `json:"ipv6_gateway,omitzero"`
}

// Admin holds who may manage the box.
type Admin struct {
	// PasswordHash is a crypt-style hash ($argon2id$..., $2b$...), never
	// the password. Empty means setup mode: the console shows a setup code.
	PasswordHash Secret `json:"password_hash,omitzero"`
	// AllowedNetworks limits which source networks may reach the web UI;
	// it matters most with one NIC, where the UI shares the WAN. Empty
	// means any source on the LAN side.
	AllowedNetworks []Prefix `json:"allowed_networks,omitempty"`
}

// IKEVersion is "ikev2" (default) or "ikev1" (main mode only; the box never
// offers aggressive mode, which leaks a hash of the PSK to anyone asking).
type IKEVersion string

const (
	IKEv2 IKEVersion = "ikev2"
	IKEv1 IKEVersion = "ikev1"
)

// TunnelMode is how traffic is steered into a tunnel.
type TunnelMode string

const (
	// ModePolicy installs XFRM policies for local x remote networks.
	ModePolicy TunnelMode = "policy"
	// ModeRoute uses an xfrm interface (IfID) and routes to it; the
	// traffic selectors may be 0.0.0.0/0.
	ModeRoute TunnelMode = "route"
)

// Initiation says whether the box starts the IKE exchange.
type Initiation string

const (
	// Initiator: the box connects and reconnects by itself (default).
	Initiator Initiation = "initiator"
	// Responder: the box waits for the remote device to connect.
	Responder Initiation = "responder"
)

// Tunnel is one site-to-site IPsec connection to a remote VPN device.
type Tunnel struct {
	// Name is a DNS-label-like name (a-z, 0-9, '-'); it names the charon
	// connection and appears in status pages.
	Name string `json:"name"`
	// PeerAddress is the remote device's public IP address or DNS name.
	PeerAddress string `json:"peer_address"`
	// LocalAddress pins the address IKE is sent from; empty means the
	// WAN's address (IPSEC_LOCALIP=%any).
	LocalAddress Addr `json:"local_address,omitzero"`
	// LocalNetworks are the box's side of the tunnel (default: the router's
	// intercept range, 100.64.0.0/10).
	LocalNetworks  []Prefix   `json:"local_networks,omitempty"`
	RemoteNetworks []Prefix   `json:"remote_networks"`
	Mode           TunnelMode `json:"mode,omitempty"`
	// IfID is the xfrm interface id (route mode); IPSEC_VTI_KEY maps here.
	IfID uint32 `json:"if_id,omitempty"`
	// Routes are sent to the xfrm interface in route mode (default: the
	// remote networks).
	Routes []Prefix `json:"routes,omitempty"`
	// IKESettings are written inline, next to the fields above: an
	// embedded struct's fields are promoted in encoding/json.
	IKESettings

	// CertAuth is what charon needs for AuthCert: filled in by
	// AllTunnels from Config.Certificates, never stored.
	CertAuth *CertAuth `json:"-"`

	// Site names the site this tunnel is a remote of (set by
	// RemoteTunnel, never stored). The remotes of one site share one
	// reqid, so the site's inbound policies accept their SAs and no
	// other tunnel's.
	Site string `json:"-"`
}

// IKESettings are how the box talks IKE and ESP to a remote device: what a
// Tunnel says for itself and a Profile says for the remotes that name it.
// Fields left out come from Preset, then the defaults (see withDefaults).
type IKESettings struct {
	// Preset names the kind of remote device (see PresetNames); it picks
	// proposals and lifetimes known to work with it when those are left out.
	Preset string `json:"preset,omitempty"`
	// AcceptWeakCrypto is the operator's acknowledgment that the "legacy"
	// preset (LegacyPreset) lets HMAC-SHA-1 and DH groups 2 and 5 be
	// negotiated; that preset is refused without it.
	AcceptWeakCrypto bool       `json:"accept_weak_crypto,omitempty"`
	IKEVersion       IKEVersion `json:"ike_version,omitempty"`
	// LocalID and RemoteID are IKE identities (IP, FQDN, user@FQDN or a
	// DN). Empty LocalID means the box's WAN address; RemoteID defaults
	// to the peer address.
	LocalID  string `json:"local_id,omitempty"`
	RemoteID string `json:"remote_id,omitempty"`
	PSK      Secret `json:"psk,omitzero"`
	// Auth is how both ends prove who they are: AuthPSK (the default) or
	// AuthCert, with the box's certificate and a CA's (certificates.go).
	// CA names the one imported CA a remote device's certificate must
	// come from (empty: any imported CA); PeerCert names an imported
	// certificate the remote device must present (empty: any the CA
	// issued for RemoteID).
	Auth     AuthMethod `json:"auth,omitempty"`
	CA       string     `json:"ca,omitempty"`
	PeerCert string     `json:"peer_cert,omitempty"`
	// IKEProposals and ESPProposals are strongSwan proposal strings, most
	// preferred first, e.g. "aes256gcm16-prfsha384-ecp384".
	IKEProposals []string `json:"ike_proposals,omitempty"`
	ESPProposals []string `json:"esp_proposals,omitempty"`
	// IKELifetime and ChildLifetime are how long an SA lives; the box starts
	// rekeying at 90% of it. Defaults are below common peer defaults (8h,
	// 1h), so the box rekeys first and the remote device never has to.
	IKELifetime   Duration `json:"ike_lifetime,omitzero"`
	ChildLifetime Duration `json:"child_lifetime,omitzero"`
	DPDDelay      Duration `json:"dpd_delay,omitzero"`
	// DPDTimeout is used by IKEv1 only; IKEv2 uses retransmission timeouts.
	DPDTimeout Duration   `json:"dpd_timeout,omitzero"`
	Initiation Initiation `json:"initiation,omitempty"`
	// ForceUDPEncap wraps ESP in UDP 4500 even without NAT, for networks
	// that drop protocol 50.
	ForceUDPEncap bool `json:"force_udp_encap,omitempty"`
	// MOBIKE (IKEv2 only) lets the SA follow a WAN address change.
	// nil means the default: on for IKEv2.
	MOBIKE *bool `json:"mobike,omitempty"`
	// Reauth re-authenticates (a fresh IKE_SA with make-before-break)
	// instead of rekeying the IKE_SA; some older peers want it. IKEv1
	// always re-authenticates.
	Reauth bool `json:"reauth,omitempty"`
}

// cloneIKE deep-copies the lists and the MOBIKE pointer of s. A function,
// not a method, so Tunnel and Profile do not get a clone that copies only
// part of them.
func cloneIKE(s IKESettings) IKESettings {
	s.IKEProposals = slices.Clone(s.IKEProposals)
	s.ESPProposals = slices.Clone(s.ESPProposals)
	if s.MOBIKE != nil {
		m := *s.MOBIKE
		s.MOBIKE = &m
	}
	return s
}

// Router holds the OpenZiti router's settings on the box.
type Router struct {
	Enrolled bool `json:"enrolled,omitempty"`
	// IdentityPath is where the enrolled identity (config and key) lives.
	IdentityPath string `json:"identity_path,omitempty"`
	// InterceptRange is the range the router intercepts (tproxy) and where
	// the remote site reaches services.
	InterceptRange Prefix `json:"intercept_range,omitzero"`
	// InsideAddress sits on lo: the remote site's DNS server and the source
	// of traffic toward the remote site, so it must lie in each tunnel's
	// local networks.
	InsideAddress Addr `json:"inside_address,omitzero"`
	// LinkListener lets other routers link to this one; off by default
	// so the box opens no listening port toward the WAN beyond IKE.
	LinkListener bool `json:"link_listener,omitempty"`
}
