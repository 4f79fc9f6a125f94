package config

import (
	"strings"
)

// configV1 is the document of the first firmware: one tunnel, flat
// interface settings, and the PSK and password hash at the top level.
// Keep it frozen; it only ever gets read.
type configV1 struct {
	Version           int       `json:"version"`
	Hostname          string    `json:"hostname,omitempty"`
	WAN               *ifaceV1  `json:"wan,omitempty"`
	LAN               *ifaceV1  `json:"lan,omitempty"`
	Tunnel            *tunnelV1 `json:"tunnel,omitempty"`
	PSK               Secret    `json:"psk,omitzero"`
	AdminPasswordHash Secret    `json:"admin_password_hash,omitzero"`
	Ziti              *routerV1 `json:"ziti,omitempty"`
	NTP               string    `json:"ntp,omitempty"` // comma-separated
}

type ifaceV1 struct {
	MAC     string `json:"mac,omitempty"`
	DHCP    bool   `json:"dhcp"`
	Address Prefix `json:"address,omitzero"`
	Gateway Addr   `json:"gateway,omitzero"`
	DNS     string `json:"dns,omitempty"` // comma-separated
}

type tunnelV1 struct {
	RemoteIP     string `json:"remote_ip"`
	LocalID      string `json:"local_id,omitempty"`
	RemoteID     string `json:"remote_id,omitempty"`
	LocalSubnet  string `json:"local_subnet,omitempty"`  // comma-separated
	RemoteSubnet string `json:"remote_subnet,omitempty"` // comma-separated
	IKE          string `json:"ike,omitempty"`           // "ikev1", "ikev2"
	IKECipher    string `json:"ike_cipher,omitempty"`    // comma-separated proposals
	ESPCipher    string `json:"esp_cipher,omitempty"`    // comma-separated proposals
	// Lifetimes were seconds in v1.
	IKELifetimeSeconds int  `json:"ike_lifetime_seconds,omitempty"`
	LifetimeSeconds    int  `json:"lifetime_seconds,omitempty"`
	ForceUDP           bool `json:"force_udp,omitempty"`
}

type routerV1 struct {
	Enrolled bool `json:"enrolled,omitempty"`
}

// v1TunnelName names the one tunnel a v1 document had.
const v1TunnelName = "site"

// migrateV1 turns a v1 document into the current one. It keeps what the
// operator wrote and leaves defaults to WithDefaults, so migrating does not
// freeze v1's defaults into the document.
func migrateV1(old configV1) Config {
	c := Config{Version: CurrentVersion}
	c.System.Hostname = old.Hostname
	c.System.NTPServers = splitList(old.NTP)
	c.Admin.PasswordHash = old.AdminPasswordHash
	for _, x := range []struct {
		role Role
		ifc  *ifaceV1
	}{{RoleWAN, old.WAN}, {RoleLAN, old.LAN}} {
		if x.ifc == nil {
			continue
		}
		ifc := Interface{Role: x.role, MAC: x.ifc.MAC, Mode: ModeDHCP}
		if !x.ifc.DHCP {
			ifc.Mode = ModeStatic
			ifc.Address = x.ifc.Address
			ifc.Gateway = x.ifc.Gateway
		}
		for _, d := range splitList(x.ifc.DNS) {
			ifc.DNS = append(ifc.DNS, ParseAddr(d))
		}
		c.Interfaces = append(c.Interfaces, ifc)
	}
	if t := old.Tunnel; t != nil {
		nt := Tunnel{
			Name:        v1TunnelName,
			PeerAddress: t.RemoteIP,
			IKESettings: IKESettings{
				IKEVersion:    IKEVersion(t.IKE),
				LocalID:       t.LocalID,
				RemoteID:      t.RemoteID,
				PSK:           old.PSK,
				IKEProposals:  splitList(t.IKECipher),
				ESPProposals:  splitList(t.ESPCipher),
				ForceUDPEncap: t.ForceUDP,
			},
		}
		for _, n := range splitList(t.LocalSubnet) {
			nt.LocalNetworks = append(nt.LocalNetworks, ParsePrefix(n))
		}
		for _, n := range splitList(t.RemoteSubnet) {
			nt.RemoteNetworks = append(nt.RemoteNetworks, ParsePrefix(n))
		}
		if t.IKELifetimeSeconds > 0 {
			nt.IKELifetime = Dur(seconds(t.IKELifetimeSeconds))
		}
		if t.LifetimeSeconds > 0 {
			nt.ChildLifetime = Dur(seconds(t.LifetimeSeconds))
		}
		c.Tunnels = []Tunnel{nt}
	}
	if old.Ziti != nil {
		c.Router.Enrolled = old.Ziti.Enrolled
	}
	return c
}

// splitList splits a comma-separated list, dropping spaces and empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// decodeV2 reads a version 2 document. Version 3 only added profiles and
// sites beside the tunnels, so a v2 document is a v3 one without them:
// its tunnels stay tunnels (every caller of Config.Tunnels keeps working)
// and only the version changes.
func decodeV2(data []byte) (Config, error) {
	var c Config
	if err := decodeStrict(data, &c); err != nil {
		return Config{}, err
	}
	switch {
	case c.Profiles != nil:
		return Config{}, &DecodeError{Field: "profiles", Message: "needs a version 3 document; set \"version\": 3"}
	case c.Sites != nil:
		return Config{}, &DecodeError{Field: "sites", Message: "needs a version 3 document; set \"version\": 3"}
	}
	c.Version = CurrentVersion
	return c, nil
}
