package ipsec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/config"
)

// ReqID range: far above the reqids charon hands out by itself (1, 2, ...)
// so a fixed reqid never collides with an automatic one.
const (
	reqIDBase = 0x10000
	reqIDSpan = 0xffff00
)

// ReqIDs gives each tunnel a fixed reqid derived from its name, so it stays
// the same across reboots and config edits (xfrm policy templates and
// charon's CHILD_SA must agree on it). The remotes of one site
// (config.Tunnel.Site) share the site's reqid: its inbound policies then
// accept the SAs of any of its remotes and of no other tunnel, so one
// site's peer cannot send with another site's addresses. charon takes a
// configured reqid as it is, whatever other CHILD_SA uses it; the out
// policy still picks the active remote's SA by its peer address. Hash
// collisions are resolved in key order by taking the next free number.
func ReqIDs(tunnels []config.Tunnel) map[string]uint32 {
	keyOf := func(t config.Tunnel) string {
		if t.Site != "" {
			return "site " + t.Site // a space: never a tunnel's name
		}
		return t.Name
	}
	var keys []string
	for _, t := range tunnels {
		keys = append(keys, keyOf(t))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	ids := make(map[string]uint32, len(keys))
	used := map[uint32]bool{}
	for _, k := range keys {
		h := fnv.New32a()
		h.Write([]byte(k))
		id := reqIDBase + h.Sum32()%reqIDSpan
		for used[id] {
			id = reqIDBase + (id-reqIDBase+1)%reqIDSpan
		}
		used[id] = true
		ids[k] = id
	}
	out := make(map[string]uint32, len(tunnels))
	for _, t := range tunnels {
		out[t.Name] = ids[keyOf(t)]
	}
	return out
}

// Conn is one tunnel as charon sees it: the connection, its secret and the
// fixed reqid. Build it with NewConn from a tunnel with defaults applied.
type Conn struct {
	Name   string
	ReqID  uint32
	conn   *vici.Message // the "<name> { ... }" body of load-conn
	secret *vici.Message // load-shared; nil for a certificate tunnel
	key    *vici.Message // load-key of the box's key; nil for a PSK tunnel
	// fingerprint covers conn and secret; a change means reload.
	fingerprint string
}

// secretID names a tunnel's PSK in charon.
func secretID(name string) string { return "tunneler-psk-" + name }

// NewConn builds the VICI messages for t (config.WithDefaults applied).
func NewConn(t config.Tunnel, reqid uint32) (Conn, error) {
	if t.Name == "" {
		return Conn{}, fmt.Errorf("tunnel without a name")
	}
	cert := t.Auth == config.AuthCert
	if !cert && t.PSK.Reveal() == "" {
		return Conn{}, fmt.Errorf("tunnel %q: no pre-shared key", t.Name)
	}
	if cert && (t.CertAuth == nil || len(t.CertAuth.Cert) == 0 || t.CertAuth.Key.Reveal() == "") {
		return Conn{}, fmt.Errorf("tunnel %q: certificate authentication without the box's certificate and key", t.Name)
	}
	if len(t.IKEProposals) == 0 || len(t.ESPProposals) == 0 {
		return Conn{}, fmt.Errorf("tunnel %q: no proposals (apply config defaults first)", t.Name)
	}
	c := Conn{Name: t.Name, ReqID: reqid}
	var err error
	if c.conn, err = connMessage(t, reqid); err != nil {
		return Conn{}, fmt.Errorf("tunnel %q: %w", t.Name, err)
	}
	if cert {
		if c.key, err = keyMessage(t.CertAuth.Key); err != nil {
			return Conn{}, fmt.Errorf("tunnel %q: %w", t.Name, err)
		}
	} else if c.secret, err = secretMessage(t); err != nil {
		return Conn{}, fmt.Errorf("tunnel %q: %w", t.Name, err)
	}
	h := sha256.New()
	for _, m := range []*vici.Message{c.conn, c.secret, c.key} {
		if m == nil {
			continue
		}
		h.Write([]byte(dump(m)))
		h.Write([]byte{0})
	}
	c.fingerprint = hex.EncodeToString(h.Sum(nil))
	return c, nil
}

// Message returns the load-conn request: { <name> { ... } }.
func (c Conn) Message() *vici.Message {
	m := vici.NewMessage()
	m.Set(c.Name, c.conn)
	return m
}

// SecretMessage returns the load-shared request, nil for a certificate
// tunnel.
func (c Conn) SecretMessage() *vici.Message { return c.secret }

// KeyMessage returns the load-key request of the box's key, nil for a
// PSK tunnel.
func (c Conn) KeyMessage() *vici.Message { return c.key }

// Fingerprint changes whenever anything charon is told about the tunnel
// changes, the PSK included (it is a hash, safe to log).
func (c Conn) Fingerprint() string { return c.fingerprint }

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) + "s" }

func pct(d time.Duration, p int64) time.Duration { return d * time.Duration(p) / 100 }

func connMessage(t config.Tunnel, reqid uint32) (*vici.Message, error) {
	m := vici.NewMessage()
	set := func(k string, v any) {
		if err := m.Set(k, v); err != nil {
			panic(fmt.Sprintf("vici set %s: %v", k, err)) // only our own types go in
		}
	}
	version := "2"
	if t.IKEVersion == config.IKEv1 {
		version = "1"
	}
	set("version", version)
	local := "%any"
	if t.LocalAddress.Addr.IsValid() {
		local = t.LocalAddress.Addr.String()
	}
	set("local_addrs", []string{local})
	set("remote_addrs", []string{t.PeerAddress})
	// One proposal per list element: charon parses each on its own, and a
	// peer that accepts only the third still finds it.
	set("proposals", slices.Clone(t.IKEProposals))
	set("encap", yesno(t.ForceUDPEncap))
	mobike := t.MOBIKE != nil && *t.MOBIKE && t.IKEVersion != config.IKEv1
	set("mobike", yesno(mobike))
	// Main mode only: aggressive mode sends a hash of the PSK to anyone.
	set("aggressive", "no")
	set("dpd_delay", secs(t.DPDDelay.D))
	if t.IKEVersion == config.IKEv1 {
		set("dpd_timeout", secs(t.DPDTimeout.D))
	}
	// Keep retrying for ever: the box is unattended.
	set("keyingtries", "0")
	set("unique", "replace")
	// The box starts rekeying at 90% of the lifetime, so it rekeys before
	// the peer; the hard limit is the lifetime itself.
	life := t.IKELifetime.D
	if life <= 0 {
		return nil, fmt.Errorf("no IKE lifetime")
	}
	if t.Reauth || t.IKEVersion == config.IKEv1 {
		set("reauth_time", secs(pct(life, 90)))
		set("rekey_time", "0s")
	} else {
		set("rekey_time", secs(pct(life, 90)))
	}
	set("over_time", secs(life-pct(life, 90)))
	set("rand_time", secs(pct(life, 5)))

	lauth, rauth := authMessages(t)
	set("local", lauth)
	set("remote", rauth)

	child, err := childMessage(t, reqid)
	if err != nil {
		return nil, err
	}
	children := vici.NewMessage()
	children.Set(t.Name, child)
	set("children", children)
	return m, nil
}

func childMessage(t config.Tunnel, reqid uint32) (*vici.Message, error) {
	c := vici.NewMessage()
	var lts, rts []string
	for _, p := range t.LocalNetworks {
		lts = append(lts, p.Prefix.Masked().String())
	}
	for _, p := range t.RemoteNetworks {
		rts = append(rts, p.Prefix.Masked().String())
	}
	if len(lts) == 0 || len(rts) == 0 {
		return nil, fmt.Errorf("no local or remote networks")
	}
	c.Set("local_ts", lts)
	c.Set("remote_ts", rts)
	c.Set("esp_proposals", espProposals(t.ESPProposals))
	c.Set("mode", "tunnel")
	// The box owns XFRM policies (package xfrm); charon only installs SAs,
	// under this fixed reqid, which the policies' templates name.
	c.Set("policies", "no")
	c.Set("reqid", strconv.FormatUint(uint64(reqid), 10))
	if t.Mode == config.ModeRoute {
		if t.IfID == 0 {
			return nil, fmt.Errorf("route mode without an if_id")
		}
		id := strconv.FormatUint(uint64(t.IfID), 10)
		c.Set("if_id_in", id)
		c.Set("if_id_out", id)
	}
	life := t.ChildLifetime.D
	if life <= 0 {
		return nil, fmt.Errorf("no child lifetime")
	}
	c.Set("life_time", secs(life))
	c.Set("rekey_time", secs(pct(life, 90)))
	c.Set("rand_time", secs(pct(life, 5)))
	if t.Initiation == config.Responder {
		// Wait for the remote device; if it goes away, forget the SA and
		// wait again rather than calling it.
		c.Set("start_action", "none")
		c.Set("dpd_action", "clear")
		c.Set("close_action", "none")
	} else {
		c.Set("start_action", "start")
		c.Set("dpd_action", "restart")
		c.Set("close_action", "start")
	}
	return c, nil
}

func secretMessage(t config.Tunnel) (*vici.Message, error) {
	m := vici.NewMessage()
	m.Set("id", secretID(t.Name))
	m.Set("type", "IKE")
	m.Set("data", t.PSK.Reveal())
	// The key belongs to the pair of identities; charon picks the PSK whose
	// owners best match both ends.
	var owners []string
	if t.LocalID != "" {
		owners = append(owners, t.LocalID)
	}
	if t.RemoteID != "" {
		owners = append(owners, t.RemoteID)
	} else {
		owners = append(owners, t.PeerAddress)
	}
	m.Set("owners", owners)
	return m, nil
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dump renders a message deterministically (keys in message order), for
// fingerprints and tests. It includes secrets: never log it.
func dump(m *vici.Message) string {
	var b []byte
	var walk func(m *vici.Message, indent string)
	walk = func(m *vici.Message, indent string) {
		for _, k := range m.Keys() {
			switch v := m.Get(k).(type) {
			case string:
				b = fmt.Appendf(b, "%s%s = %s\n", indent, k, v)
			case []string:
				b = fmt.Appendf(b, "%s%s = %q\n", indent, k, v)
			case *vici.Message:
				b = fmt.Appendf(b, "%s%s {\n", indent, k)
				walk(v, indent+"  ")
				b = fmt.Appendf(b, "%s}\n", indent)
			}
		}
	}
	walk(m, "")
	return string(b)
}

// espProposals makes PFS optional on ESP proposals that name a DH group,
// by adding strongSwan's "modpnone" after it: the box still offers and
// prefers the group (its own rekeys, which come first by the lifetimes,
// get fresh keys), but a remote device whose rekey carries no KE payload
// (stock strongSwan's, Cisco's and pfSense's defaults) is no longer
// refused with NO_PROPOSAL_CHOSEN, which left its CHILD_SA unrekeyed
// until it expired.
func espProposals(ps []string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if hasDHGroup(p) && !strings.Contains(p, "modpnone") {
			p += "-modpnone"
		}
		out = append(out, p)
	}
	return out
}

// hasDHGroup reports whether a proposal names a key exchange (DH) group.
func hasDHGroup(p string) bool {
	for _, part := range strings.Split(strings.ToLower(p), "-") {
		for _, g := range []string{"modp", "ecp", "x25519", "x448", "curve25519", "curve448"} {
			if strings.HasPrefix(part, g) {
				return true
			}
		}
	}
	return false
}
