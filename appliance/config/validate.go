package config

import (
	"net/netip"
	"time"
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
	keyAt := map[string]string{} // PSK -> the first field that holds it
	validateTunnels(&p, c.Tunnels, c.Router, insideOK, box, keyAt)
	validateProfiles(&p, c.Profiles, keyAt)
	validateSites(&p, c, insideOK, box)
	validateCertificates(&p, c) // validate_certs.go
	return p.list
}

// validateName checks the name of the tunnel or profile at base: what and
// example ("the tunnel", "site-a") go into the message when it is missing.
// nameAt maps the names seen so far to where they were.
func validateName(p *problems, base, name, what, example string, nameAt map[string]string) {
	switch {
	case name == "":
		p.add(fld(base, "name"), "is missing; give %s a short name like %s", what, example)
	case !validName(name):
		p.add(fld(base, "name"), "%q is not a valid name: use lower-case letters, digits and '-', start with a letter, at most 63 characters", name)
	default:
		if where, dup := nameAt[name]; dup {
			p.add(fld(base, "name"), "%q is already the name of %s; names must be unique", name, where)
		} else {
			nameAt[name] = base
		}
	}
}

// boxNet is a subnet the box itself sits on; tunnel networks must not
// overlap it, or traffic for the box's own neighbours would go into the
// tunnel (or the tunnel's traffic out of the LAN).
type boxNet struct {
	prefix netip.Prefix
	desc   string
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

// checkInsideNetwork is checkNetwork for the networks inside a tunnel,
// which stay IPv4: the router intercepts an IPv4 range and sources its
// traffic from an IPv4 inside address. IPv6 belongs on the outside (the
// WAN and the peer's address).
func checkInsideNetwork(p *problems, field string, n Prefix) (netip.Prefix, bool) {
	got, ok := checkNetwork(p, field, n)
	if ok && !got.Addr().Is4() {
		p.add(field, "%s is an IPv6 network; the networks inside the tunnels must be IPv4 (the router intercepts IPv4 only). IPv6 works on the outside: the WAN and the peer's address", got)
		return netip.Prefix{}, false
	}
	return got, ok
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
