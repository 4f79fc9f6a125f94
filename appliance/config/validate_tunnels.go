package config

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Validate returns every problem in the document at once, each naming its
// field; nil means the document can be saved and applied. It checks the
// document with defaults applied (WithDefaults), since the defaults take
// part in what can conflict (the default local network, the LAN fallback);
// defaults never reorder fields, so the paths match the operator's document.
func (c Config) Validate() FieldErrors {
	c = c.WithDefaults() // a copy: enforceLimits may cut its lists
	var p problems
	enforceLimits(&p, &c)
	if c.Version != CurrentVersion {
		p.add("version", "is %d; this firmware reads version %d documents (older ones are migrated on import)", c.Version, CurrentVersion)
	}
	validateSystem(&p, c.System)
	box := validateInterfaces(&p, c.Interfaces)
	validateAdmin(&p, c.Admin)
	insideOK := validateRouter(&p, c.Router, box)
	validateTunnels(&p, c.Tunnels, c.Router, insideOK, box)
	validateProfiles(&p, c.Profiles, c.Tunnels)
	validateSites(&p, c, insideOK, box)
	return p.list
}

// boxNet is a subnet the box itself sits on; tunnel networks must not
// overlap it, or traffic for the box's own neighbours would go into the
// tunnel (or the tunnel's traffic out of the LAN).
type boxNet struct {
	prefix netip.Prefix
	desc   string
}

func validateSystem(p *problems, s System) {
	if s.Hostname != "" && !validDNSName(s.Hostname) {
		p.add("system.hostname", "%q is not a valid host name: use letters, digits and '-' (not first or last), at most 63 per label", s.Hostname)
	}
	if s.Timezone != "" && !validTimezone(s.Timezone) {
		p.add("system.timezone", "%q is not a time zone name like Europe/Berlin or UTC", s.Timezone)
	}
	for i, n := range s.NTPServers {
		if !validHost(n) {
			p.add(idx("system.ntp_servers", i), "%q is not an IP address or a DNS name", n)
		}
	}
	if s.RemoteSyslog != "" {
		hp := s.RemoteSyslog
		if scheme, rest, ok := strings.Cut(hp, "://"); ok {
			if scheme != "udp" && scheme != "tcp" {
				p.add("system.remote_syslog", "%q: start with udp:// or tcp://, or give host:port alone for UDP", s.RemoteSyslog)
				return
			}
			hp = rest
		}
		if msg := hostPortProblem(hp); msg != "" {
			p.add("system.remote_syslog", "%s", msg)
		}
	}
}

// validTimezone checks the shape of an IANA name only: the image may not
// carry the zone database that would let us look it up.
func validTimezone(tz string) bool {
	if len(tz) > 64 || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") || strings.HasSuffix(tz, "/") {
		return false
	}
	for _, r := range tz {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("/_+-", r))) {
			return false
		}
	}
	return true
}

func hostPortProblem(hp string) string {
	host, port := hp, ""
	if h, p, err := net.SplitHostPort(hp); err == nil {
		host, port = h, p
	}
	if !validHost(host) {
		return fmt.Sprintf("%q is not host or host:port (like logs.example.com:514)", hp)
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port %q is not a number from 1 to 65535", port)
		}
	}
	return ""
}

func validateInterfaces(p *problems, ifs []Interface) []boxNet {
	var box []boxNet
	roleAt := map[Role]int{}
	macAt := map[string]int{}
	for i, ifc := range ifs {
		base := idx("interfaces", i)
		switch ifc.Role {
		case RoleWAN, RoleLAN:
			if j, dup := roleAt[ifc.Role]; dup {
				p.add(fld(base, "role"), "%s is already the role of interfaces[%d]; each role goes to one NIC", ifc.Role, j)
			} else {
				roleAt[ifc.Role] = i
			}
		case "":
			p.add(fld(base, "role"), "is missing; it must be wan or lan")
		default:
			p.add(fld(base, "role"), "%q is not a role; it must be wan or lan", ifc.Role)
		}
		if ifc.MAC != "" {
			hw, err := net.ParseMAC(ifc.MAC)
			switch {
			case err != nil || len(hw) != 6:
				p.add(fld(base, "mac"), "%q is not a MAC address like 52:54:00:12:34:56", ifc.MAC)
			case hw[0]&1 == 1:
				p.add(fld(base, "mac"), "%s is a multicast MAC address, which no NIC has", ifc.MAC)
			default:
				key := hw.String()
				if j, dup := macAt[key]; dup {
					p.add(fld(base, "mac"), "%s is already bound to interfaces[%d]; one NIC cannot have two roles", ifc.MAC, j)
				} else {
					macAt[key] = i
				}
			}
		}
		switch ifc.Mode {
		case ModeDHCP:
			if !ifc.Address.IsZero() {
				p.add(fld(base, "address"), "is only used with mode static; remove it or set mode to static")
			}
			if !ifc.Gateway.IsZero() {
				p.add(fld(base, "gateway"), "is only used with mode static; remove it or set mode to static")
			}
			if ifc.Role == RoleLAN {
				box = append(box, boxNet{LANFallback.Masked(), fmt.Sprintf("the LAN fallback subnet %s used when no DHCP server answers (give the LAN a static address elsewhere)", LANFallback.Masked())})
			}
		case ModeStatic:
			if a, ok := checkHostPrefix(p, fld(base, "address"), ifc.Address, true); ok {
				box = append(box, boxNet{a.Masked(), fmt.Sprintf("the %s subnet %s (%s)", strings.ToUpper(string(ifc.Role)), a.Masked(), base)})
				switch {
				case ifc.Gateway.IsZero() && ifc.Role == RoleWAN:
					p.add(fld(base, "gateway"), "is missing; a static WAN needs a default gateway")
				case ifc.Gateway.IsZero():
				case !ifc.Gateway.IsValid():
					p.add(fld(base, "gateway"), "%q is not an IP address", ifc.Gateway.String())
				case ifc.Gateway.Addr == a.Addr():
					p.add(fld(base, "gateway"), "%s is the interface's own address", ifc.Gateway)
				case !a.Masked().Contains(ifc.Gateway.Addr):
					p.add(fld(base, "gateway"), "%s is not in the interface's subnet %s", ifc.Gateway, a.Masked())
				}
			}
		default:
			p.add(fld(base, "mode"), "%q is not a mode; it must be dhcp or static", ifc.Mode)
		}
		for j, d := range ifc.DNS {
			switch {
			case !d.IsValid():
				p.add(idx(fld(base, "dns"), j), "%q is not an IP address", d.String())
			case unicastProblem(d.Addr) != "":
				p.add(idx(fld(base, "dns"), j), "%s %s", d, unicastProblem(d.Addr))
			}
		}
	}
	return box
}

// checkHostPrefix checks an interface-style address (192.0.2.10/24).
func checkHostPrefix(p *problems, field string, a Prefix, required bool) (netip.Prefix, bool) {
	switch {
	case a.IsZero():
		if required {
			p.add(field, "is missing; a static interface needs an address like 192.0.2.10/24")
		}
		return netip.Prefix{}, false
	case !a.IsValid():
		p.add(field, "%q is not an address with a prefix length (like 192.0.2.10/24)", a.String())
		return netip.Prefix{}, false
	}
	addr, bits := a.Addr(), a.Bits()
	if msg := unicastProblem(addr); msg != "" {
		p.add(field, "%s %s", addr, msg)
		return netip.Prefix{}, false
	}
	if addr.Is4() && bits < 31 {
		if addr == a.Masked().Addr() {
			p.add(field, "%s is the network address of %s, not a host in it", addr, a.Masked())
			return netip.Prefix{}, false
		}
		if addr == lastAddr(a.Prefix) {
			p.add(field, "%s is the broadcast address of %s, not a host in it", addr, a.Masked())
			return netip.Prefix{}, false
		}
	}
	return a.Prefix, true
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// checkNetwork checks a network in CIDR notation and returns it when valid.
func checkNetwork(p *problems, field string, n Prefix) (netip.Prefix, bool) {
	switch {
	case n.IsZero():
		p.add(field, "is empty; write a network like 10.1.0.0/16")
		return netip.Prefix{}, false
	case !n.IsValid():
		p.add(field, "%q is not a network in CIDR notation (like 10.1.0.0/16)", n.String())
		return netip.Prefix{}, false
	case n.Prefix != n.Masked():
		p.add(field, "%s has host bits set; the network is %s", n, n.Masked())
		return netip.Prefix{}, false
	}
	return n.Prefix, true
}

func validateAdmin(p *problems, a Admin) {
	h := a.PasswordHash
	switch {
	case h.IsHidden():
		p.add("admin.password_hash", "is %q, a placeholder for the stored value, but there is no stored value to keep", Hidden)
	case h.IsZero():
	case !looksLikeHash(h.Reveal()):
		p.add("admin.password_hash", "is not a password hash (expected $argon2id$..., $2b$... or $6$...); the box stores only a hash of the password, never the password")
	}
	for i, n := range a.AllowedNetworks {
		checkNetwork(p, idx("admin.allowed_networks", i), n)
	}
}

func looksLikeHash(h string) bool {
	for _, prefix := range []string{"$argon2id$", "$2a$", "$2b$", "$2y$", "$6$", "$y$"} {
		if strings.HasPrefix(h, prefix) && len(h) > len(prefix)+20 && !strings.ContainsAny(h, " \t\r\n") {
			return true
		}
	}
	return false
}

// validateRouter reports whether the inside address is usable, so tunnels
// are not blamed for a wrong inside address.
func validateRouter(p *problems, r Router, box []boxNet) bool {
	if r.IdentityPath != "" && (!path.IsAbs(r.IdentityPath) || path.Clean(r.IdentityPath) != r.IdentityPath) {
		p.add("router.identity_path", "%q must be a clean absolute path like %s", r.IdentityPath, DefaultIdentityPath)
	}
	rng, ok := checkNetwork(p, "router.intercept_range", r.InterceptRange)
	if ok {
		if b, hit := overlapsBox(rng, box); hit {
			p.add("router.intercept_range", "%s overlaps %s", rng, b.desc)
		}
	}
	switch {
	case !r.InsideAddress.IsValid():
		p.add("router.inside_address", "%q is not an IP address", r.InsideAddress.String())
	case ok && !rng.Contains(r.InsideAddress.Addr):
		p.add("router.inside_address", "%s is outside the intercept range %s", r.InsideAddress, rng)
	case unicastProblem(r.InsideAddress.Addr) != "":
		p.add("router.inside_address", "%s %s", r.InsideAddress, unicastProblem(r.InsideAddress.Addr))
	default:
		return true
	}
	return false
}

func overlapsBox(n netip.Prefix, box []boxNet) (boxNet, bool) {
	for _, b := range box {
		if b.prefix.Overlaps(n) {
			return b, true
		}
	}
	return boxNet{}, false
}

// claimed is a network some earlier field already uses.
type claimed struct {
	prefix netip.Prefix
	field  string
}

func validateTunnels(p *problems, ts []Tunnel, r Router, insideOK bool, box []boxNet) {
	nameAt := map[string]int{}
	ifIDAt := map[uint32]int{}
	pskAt := map[string]int{}
	var locals, remotes [][]claimed // valid networks per tunnel, for overlap checks
	var routes []claimed            // route-mode routes of earlier tunnels
	for i, t := range ts {
		base := idx("tunnels", i)
		switch {
		case t.Name == "":
			p.add(fld(base, "name"), "is missing; give the tunnel a short name like site-a")
		case !validName(t.Name):
			p.add(fld(base, "name"), "%q is not a valid name: use lower-case letters, digits and '-', start with a letter, at most 63 characters", t.Name)
		default:
			if j, dup := nameAt[t.Name]; dup {
				p.add(fld(base, "name"), "%q is already the name of tunnels[%d]; names must be unique", t.Name, j)
			} else {
				nameAt[t.Name] = i
			}
		}
		switch t.IKEVersion {
		case IKEv1, IKEv2:
		default:
			p.add(fld(base, "ike_version"), "%q is not an IKE version; it must be ikev2 or ikev1", t.IKEVersion)
		}
		validatePeer(p, fld(base, "peer_address"), t.PeerAddress)
		if !t.LocalAddress.IsZero() {
			switch {
			case !t.LocalAddress.IsValid():
				p.add(fld(base, "local_address"), "%q is not an IP address (leave it out to use the WAN address)", t.LocalAddress.String())
			case unicastProblem(t.LocalAddress.Addr) != "":
				p.add(fld(base, "local_address"), "%s %s", t.LocalAddress, unicastProblem(t.LocalAddress.Addr))
			}
		}
		validateID(p, fld(base, "local_id"), t.LocalID)
		validateID(p, fld(base, "remote_id"), t.RemoteID)
		validatePSK(p, fld(base, "psk"), t.PSK, pskAt, i)

		var myLocals, myRemotes []claimed
		for j, n := range t.LocalNetworks {
			f := idx(fld(base, "local_networks"), j)
			n, ok := checkNetwork(p, f, n)
			if !ok {
				continue
			}
			if t.Mode == ModeRoute && n.Bits() == 0 {
				// 0/0 selectors are how route mode is usually set up;
				// the routes decide what enters the tunnel.
				continue
			}
			if b, hit := overlapsBox(n, box); hit {
				p.add(f, "%s overlaps %s", n, b.desc)
				continue
			}
			if c, hit := firstOverlap(n, myLocals); hit {
				p.add(f, "%s overlaps %s (%s) of the same tunnel", n, c.field, c.prefix)
				continue
			}
			myLocals = append(myLocals, claimed{n, f})
		}
		if len(t.RemoteNetworks) == 0 {
			p.add(fld(base, "remote_networks"), "is empty; list at least one network behind the remote device, like 10.1.0.0/16")
		}
		for j, n := range t.RemoteNetworks {
			f := idx(fld(base, "remote_networks"), j)
			n, ok := checkNetwork(p, f, n)
			if !ok {
				continue
			}
			if msg := remoteOverlap(n, t, myLocals, myRemotes, locals, remotes, r, box); msg != "" {
				p.add(f, "%s", msg)
				continue
			}
			myRemotes = append(myRemotes, claimed{n, f})
		}
		locals = append(locals, myLocals)
		remotes = append(remotes, myRemotes)

		// The router sources its traffic from the inside address; in
		// policy mode only traffic from a local network matches the
		// tunnel's policies.
		if t.Mode == ModePolicy && len(myLocals) == len(t.LocalNetworks) && insideOK {
			if _, hit := firstContaining(r.InsideAddress.Addr, myLocals); !hit {
				p.add(fld(base, "local_networks"), "none contains the router's inside address %s, so the router's traffic would not enter this tunnel", r.InsideAddress)
			}
		}

		var myRoutes []claimed
		switch t.Mode {
		case ModePolicy:
			if t.IfID != 0 {
				p.add(fld(base, "if_id"), "is only used with mode route")
			}
			if len(t.Routes) > 0 {
				p.add(fld(base, "routes"), "are only used with mode route; in policy mode the remote networks decide what enters the tunnel")
			}
		case ModeRoute:
			if t.IfID == 0 {
				p.add(fld(base, "if_id"), "is missing; route mode needs an xfrm interface id from 1 to 4294967295")
			} else if j, dup := ifIDAt[t.IfID]; dup {
				p.add(fld(base, "if_id"), "%d is already the if_id of tunnels[%d]; each route-mode tunnel needs its own", t.IfID, j)
			} else {
				ifIDAt[t.IfID] = i
			}
			for j, n := range t.Routes {
				f := idx(fld(base, "routes"), j)
				n, ok := checkNetwork(p, f, n)
				if !ok {
					continue
				}
				if b, hit := overlapsBox(n, box); hit {
					p.add(f, "%s overlaps %s", n, b.desc)
				} else if c, hit := firstOverlap(n, routes); hit {
					p.add(f, "%s overlaps %s (%s), routed into another tunnel", n, c.prefix, c.field)
				} else {
					myRoutes = append(myRoutes, claimed{n, f})
				}
			}
		default:
			p.add(fld(base, "mode"), "%q is not a mode; it must be policy or route", t.Mode)
		}

		routes = append(routes, myRoutes...)

		if _, ok := presets[t.Preset]; !ok {
			p.add(fld(base, "preset"), "%q is not a known preset; use one of %s", t.Preset, presetNames())
		}
		validateProposals(p, fld(base, "ike_proposals"), t.IKEProposals, true, t.IKEVersion)
		validateProposals(p, fld(base, "esp_proposals"), t.ESPProposals, false, t.IKEVersion)

		checkDuration(p, fld(base, "ike_lifetime"), t.IKELifetime, 10*time.Minute, 24*time.Hour)
		checkDuration(p, fld(base, "child_lifetime"), t.ChildLifetime, 2*time.Minute, 24*time.Hour)
		checkDuration(p, fld(base, "dpd_delay"), t.DPDDelay, 5*time.Second, 10*time.Minute)
		if checkDuration(p, fld(base, "dpd_timeout"), t.DPDTimeout, 10*time.Second, time.Hour) &&
			t.DPDDelay.Valid() && t.DPDTimeout.D <= t.DPDDelay.D {
			p.add(fld(base, "dpd_timeout"), "%s must be longer than dpd_delay (%s)", t.DPDTimeout, t.DPDDelay)
		}
		switch t.Initiation {
		case Initiator, Responder:
		default:
			p.add(fld(base, "initiation"), "%q must be initiator or responder", t.Initiation)
		}
		if t.IKEVersion == IKEv1 && t.MOBIKE != nil && *t.MOBIKE {
			p.add(fld(base, "mobike"), "needs IKEv2; turn it off for an IKEv1 tunnel")
		}
	}
}

// remoteOverlap says what a remote network conflicts with, or "".
func remoteOverlap(n netip.Prefix, t Tunnel, myLocals, myRemotes []claimed, locals, remotes [][]claimed, r Router, box []boxNet) string {
	if n.Bits() == 0 {
		if t.Mode == ModeRoute {
			return "" // see the local networks: the routes decide
		}
		return fmt.Sprintf("%s in policy mode would send the box's own traffic into the tunnel; use mode route for a default route", n)
	}
	if c, hit := firstOverlap(n, myLocals); hit {
		return fmt.Sprintf("%s overlaps the local network %s (%s); the two sides of a tunnel must not overlap", n, c.prefix, c.field)
	}
	if c, hit := firstOverlap(n, myRemotes); hit {
		return fmt.Sprintf("%s overlaps %s (%s) of the same tunnel", n, c.prefix, c.field)
	}
	for _, other := range remotes {
		if c, hit := firstOverlap(n, other); hit {
			return fmt.Sprintf("%s overlaps %s, a remote network of another tunnel (%s); the box could not tell which tunnel to use", n, c.prefix, c.field)
		}
	}
	for _, other := range locals {
		if c, hit := firstOverlap(n, other); hit {
			return fmt.Sprintf("%s overlaps %s, a local network of another tunnel (%s)", n, c.prefix, c.field)
		}
	}
	if rng := r.InterceptRange.Prefix; rng.IsValid() && rng.Overlaps(n) {
		return fmt.Sprintf("%s overlaps the router's intercept range %s", n, rng)
	}
	if b, hit := overlapsBox(n, box); hit {
		return fmt.Sprintf("%s overlaps %s", n, b.desc)
	}
	return ""
}

func firstOverlap(n netip.Prefix, cs []claimed) (claimed, bool) {
	for _, c := range cs {
		if c.prefix.Overlaps(n) {
			return c, true
		}
	}
	return claimed{}, false
}

func firstContaining(a netip.Addr, cs []claimed) (claimed, bool) {
	for _, c := range cs {
		if c.prefix.Contains(a) {
			return c, true
		}
	}
	return claimed{}, false
}

func validatePeer(p *problems, field, peer string) {
	if peer == "" {
		p.add(field, "is missing; give the remote VPN device's public IP address or DNS name")
		return
	}
	if a, err := netip.ParseAddr(peer); err == nil {
		if msg := unicastProblem(a); msg != "" {
			p.add(field, "%s %s", peer, msg)
		}
		return
	}
	if peer == "%any" {
		p.add(field, "%%any is not supported: the firewall admits IKE only from configured peers; give the remote device's address or DNS name")
		return
	}
	if !validDNSName(peer) {
		p.add(field, "%q is neither an IP address nor a DNS name", peer)
	}
}

// validateID checks an IKE identity. Empty means the default (the WAN
// address, or the peer address for the remote side).
func validateID(p *problems, field, id string) {
	if id == "" {
		return
	}
	switch n := utf8.RuneCountInString(id); {
	case !utf8.ValidString(id):
		p.add(field, "is not valid UTF-8 text")
	case n > 255:
		p.add(field, "is %d characters long; an identity must be 1 to 255 characters", n)
	case strings.TrimSpace(id) == "":
		p.add(field, "is only spaces; an identity must be 1 to 255 characters of text")
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		p.add(field, "contains a control character")
	}
}

func validatePSK(p *problems, field string, psk Secret, pskAt map[string]int, i int) {
	switch {
	case psk.IsHidden():
		p.add(field, "is %q, a placeholder for the stored key, but there is no stored key to keep", Hidden)
		return
	case psk.IsZero():
		p.add(field, "is missing; every tunnel needs a pre-shared key, and the box can generate a strong one")
		return
	}
	v := psk.Reveal()
	if n := utf8.RuneCountInString(v); n > 256 {
		p.add(field, "is %d characters long; most VPN devices accept at most 256", n)
		return
	}
	if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		p.add(field, "contains characters that cannot be typed on the remote device (control characters or invalid UTF-8)")
		return
	}
	if msg := pskWeakness(v); msg != "" {
		p.add(field, "%s", msg)
		return
	}
	if j, dup := pskAt[v]; dup {
		p.add(field, "is the same key as tunnels[%d]; use a different key per remote device", j)
		return
	}
	pskAt[v] = i
}

func validateProposals(p *problems, field string, props []string, ike bool, v IKEVersion) {
	for j, s := range props {
		f := idx(field, j)
		if msg := checkProposal(s, ike); msg != "" {
			p.add(f, "%q %s", s, msg)
			continue
		}
		if ike && v == IKEv1 && isAEAD(s) {
			p.add(f, "%q uses an AEAD cipher, which IKEv1 cannot use for IKE; use e.g. aes256-sha256-modp2048", s)
		}
	}
}

func checkDuration(p *problems, field string, d Duration, min, max time.Duration) bool {
	switch {
	case !d.Valid():
		p.add(field, "%q is not a duration (like 50m, 3h or 1h30m)", d.String())
	case d.D < min || d.D > max:
		p.add(field, "%s is outside the range %s to %s", d, shortDuration(min), shortDuration(max))
	default:
		return true
	}
	return false
}
