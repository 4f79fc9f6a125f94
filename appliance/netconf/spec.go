// Package netconf brings the box's network up over netlink: it binds the WAN
// and LAN roles to NICs, configures them by DHCP or statically, installs the
// default route, writes resolv.conf and the hostname, keeps the clock right
// with NTP, and re-applies a link's configuration when it comes back up.
//
// It knows nothing of the config package: the apply step translates a
// config.Config into a Spec.
package netconf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Role is what an interface is for.
type Role string

const (
	// RoleWAN faces the remote site's VPN device and the ziti controller.
	// Only its gateway becomes the default route.
	RoleWAN Role = "wan"
	// RoleLAN is the management side. With a single NIC, management shares
	// the WAN interface.
	RoleLAN Role = "lan"
)

// FallbackPrefix (treat it as a constant) is the address the management interface takes when it is
// set to DHCP and no DHCP server answers within Options.FallbackAfter, so an
// operator can always reach the setup page at https://192.168.77.1/. DHCP
// keeps trying in the background; a lease replaces the fallback address.
var FallbackPrefix = netip.MustParsePrefix("192.168.77.1/24")

// FallbackAddress is FallbackPrefix as a string, for documentation and
// console banners.
const FallbackAddress = "192.168.77.1/24"

// DefaultHostname is the hostname of a box that has not been given one.
const DefaultHostname = "tunneler"

// DefaultNTPServers are the servers DefaultSpec uses (a function, so no
// caller can change them for everyone).
func DefaultNTPServers() []string {
	return []string{"0.pool.ntp.org", "1.pool.ntp.org", "2.pool.ntp.org"}
}

// Spec is the desired network configuration of the box.
type Spec struct {
	Hostname   string
	Interfaces []IfaceSpec
	// NTPServers are "host" or "host:port"; empty turns NTP off.
	NTPServers []string
}

// IfaceSpec configures the interface that plays Role.
type IfaceSpec struct {
	Role Role
	// MAC binds the role to the NIC with this address; empty means "by PCI
	// order": the first free NIC goes to WAN, the next to LAN.
	MAC net.HardwareAddr
	// DHCP asks for a lease; Addresses are added in any case.
	DHCP      bool
	Addresses []netip.Prefix
	// Gateway is the default route's next hop on WAN (it wins over the
	// DHCP router). On LAN it is reported but never a default route.
	Gateway netip.Addr
	DNS     []netip.Addr
	// IPv6 says how the interface takes IPv6 (WAN only; see IPv6Mode).
	// With IPv6Static, the IPv6 entries of Addresses are its addresses
	// and Gateway6 the IPv6 default route's next hop.
	IPv6     IPv6Mode
	Gateway6 netip.Addr
}

// DefaultSpec is the out-of-the-box configuration: first NIC WAN, second
// LAN, both on DHCP.
func DefaultSpec() Spec {
	return Spec{
		Hostname: DefaultHostname,
		Interfaces: []IfaceSpec{
			{Role: RoleWAN, DHCP: true},
			{Role: RoleLAN, DHCP: true},
		},
		NTPServers: DefaultNTPServers(),
	}
}

// Validate reports every problem with the spec at once.
func (s Spec) Validate() error {
	var errs []error
	if s.Hostname != "" {
		if err := checkHostname(s.Hostname); err != nil {
			errs = append(errs, fmt.Errorf("hostname %q: %w", s.Hostname, err))
		}
	}
	roles := map[Role]bool{}
	macs := map[string]Role{}
	for i, ifs := range s.Interfaces {
		where := fmt.Sprintf("interfaces[%d]", i)
		switch ifs.Role {
		case RoleWAN, RoleLAN:
		default:
			errs = append(errs, fmt.Errorf("%s: role %q is not wan or lan", where, ifs.Role))
		}
		if roles[ifs.Role] {
			errs = append(errs, fmt.Errorf("%s: role %q appears twice", where, ifs.Role))
		}
		roles[ifs.Role] = true
		if len(ifs.MAC) > 0 {
			if len(ifs.MAC) != 6 {
				errs = append(errs, fmt.Errorf("%s: MAC %s is not an Ethernet address", where, ifs.MAC))
			}
			if r, ok := macs[ifs.MAC.String()]; ok {
				errs = append(errs, fmt.Errorf("%s: MAC %s is already bound to %s", where, ifs.MAC, r))
			}
			macs[ifs.MAC.String()] = ifs.Role
		}
		for _, p := range ifs.Addresses {
			if !p.IsValid() || p.Addr().IsUnspecified() || p.Addr().IsMulticast() {
				errs = append(errs, fmt.Errorf("%s: %v is not a usable interface address", where, p))
			}
		}
		if ifs.Gateway.IsValid() {
			if ifs.Gateway.IsUnspecified() || ifs.Gateway.IsMulticast() {
				errs = append(errs, fmt.Errorf("%s: gateway %v is not a unicast address", where, ifs.Gateway))
			}
			if !ifs.DHCP && !ifs.Gateway.IsLinkLocalUnicast() && !anyContains(ifs.Addresses, ifs.Gateway) {
				errs = append(errs, fmt.Errorf("%s: gateway %v is outside the interface's networks", where, ifs.Gateway))
			}
		}
		switch ifs.IPv6 {
		case IPv6Off, IPv6SLAAC, IPv6DHCP, IPv6Static:
		default:
			errs = append(errs, fmt.Errorf("%s: IPv6 mode %q is not off, slaac, dhcpv6 or static", where, ifs.IPv6))
		}
		if ifs.IPv6 != IPv6Off && ifs.Role != RoleWAN {
			errs = append(errs, fmt.Errorf("%s: IPv6 is for the WAN only", where))
		}
		if g := ifs.Gateway6; g.IsValid() {
			switch {
			case !g.Is6() || g.Is4In6() || g.IsUnspecified() || g.IsMulticast():
				errs = append(errs, fmt.Errorf("%s: IPv6 gateway %v is not an IPv6 unicast address", where, g))
			case ifs.IPv6 != IPv6Static:
				errs = append(errs, fmt.Errorf("%s: IPv6 gateway %v needs IPv6 static (router advertisements give it otherwise)", where, g))
			case !g.IsLinkLocalUnicast() && !anyContains(ifs.Addresses, g):
				errs = append(errs, fmt.Errorf("%s: IPv6 gateway %v is outside the interface's networks", where, g))
			}
		}
		for _, d := range ifs.DNS {
			if !d.IsValid() || d.IsUnspecified() || d.IsMulticast() {
				errs = append(errs, fmt.Errorf("%s: DNS server %v is not a unicast address", where, d))
			}
		}
	}
	for i, srv := range s.NTPServers {
		if strings.TrimSpace(srv) == "" || strings.ContainsAny(srv, " \t/") {
			errs = append(errs, fmt.Errorf("ntpServers[%d]: %q is not a host name or address", i, srv))
		}
	}
	return errors.Join(errs...)
}

func anyContains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Masked().Contains(a) {
			return true
		}
	}
	return false
}

// checkHostname accepts what sethostname(2) and DNS both accept.
func checkHostname(h string) error {
	if len(h) > 64 {
		return errors.New("longer than 64 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("each dot-separated part must have 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("a part may not begin or end with '-'")
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("character %q is not a letter, digit or '-'", c)
			}
		}
	}
	return nil
}

func (s Spec) iface(r Role) (IfaceSpec, bool) {
	for _, i := range s.Interfaces {
		if i.Role == r {
			return i, true
		}
	}
	return IfaceSpec{}, false
}
