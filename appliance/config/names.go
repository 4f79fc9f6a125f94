package config

import (
	"net/netip"
	"strings"
)

// validLabel reports whether s is a DNS label as RFC 1123 allows it:
// 1-63 letters, digits and '-', not starting or ending with '-'.
func validLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validName is the rule for names the box gives things (tunnels): a
// lower-case DNS label starting with a letter, so it is safe as a charon
// connection name, in file names and in URLs.
func validName(s string) bool {
	return validLabel(s) && s == strings.ToLower(s) && s[0] >= 'a' && s[0] <= 'z'
}

// validDNSName reports whether s is a host name the resolver could look
// up. The last label must not be all digits, so a mistyped address such as
// 192.0.2.300 is not taken for a name.
func validDNSName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

// validHost accepts an IP address or a DNS name.
func validHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return validDNSName(s)
}

// unicastProblem says why a is not an address a peer could have, or "".
func unicastProblem(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "is the unspecified address, not a single host"
	case a.IsLoopback():
		return "is a loopback address, which never leaves the box"
	case a.IsMulticast():
		return "is a multicast address, not a single host"
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "is the broadcast address, not a single host"
	case a.IsLinkLocalUnicast():
		return "is a link-local address, which is not routed"
	}
	return ""
}

// checkLocalAddress checks the address a tunnel or a site's remote pins
// IKE to (empty: the WAN's): one of the box's own, unicast, and of the
// peer's family when the peer is an address (a DNS name may resolve to
// either).
func checkLocalAddress(p *problems, field string, local Addr, peer string) {
	if local.IsZero() {
		return
	}
	pa, err := netip.ParseAddr(peer)
	switch {
	case !local.IsValid():
		p.add(field, "%q is not an IP address (leave it out to use the WAN address)", local.String())
	case unicastProblem(local.Addr) != "":
		p.add(field, "%s %s", local, unicastProblem(local.Addr))
	case err == nil && pa.Unmap().Is4() != local.Addr.Unmap().Is4():
		p.add(field, "%s and the peer %s are not both IPv4 or both IPv6", local, peer)
	}
}
