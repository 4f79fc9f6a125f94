package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

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
		if a, ok := validateIPv6(p, base, ifc); ok {
			box = append(box, boxNet{a.Masked(), fmt.Sprintf("the WAN's IPv6 subnet %s (%s)", a.Masked(), base)})
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

// validateIPv6 checks the WAN's IPv6 settings and returns its static IPv6
// address, if it has a valid one.
func validateIPv6(p *problems, base string, ifc Interface) (netip.Prefix, bool) {
	static := func(field string) {
		p.add(fld(base, field), "is only used with ipv6 static; remove it or set ipv6 to static")
	}
	switch ifc.IPv6 {
	case "", IPv6Off, IPv6SLAAC, IPv6DHCPv6:
		if !ifc.IPv6Address.IsZero() {
			static("ipv6_address")
		}
		if !ifc.IPv6Gateway.IsZero() {
			static("ipv6_gateway")
		}
		if ifc.IPv6 != "" && ifc.IPv6 != IPv6Off && ifc.Role == RoleLAN {
			p.add(fld(base, "ipv6"), "IPv6 is for the WAN only; the LAN stays IPv4 (set it to off)")
		}
		return netip.Prefix{}, false
	case IPv6Static:
	default:
		p.add(fld(base, "ipv6"), "%q is not an IPv6 mode; it must be off, slaac, dhcpv6 or static", ifc.IPv6)
		return netip.Prefix{}, false
	}
	if ifc.Role == RoleLAN {
		p.add(fld(base, "ipv6"), "IPv6 is for the WAN only; the LAN stays IPv4 (set it to off)")
		return netip.Prefix{}, false
	}
	f := fld(base, "ipv6_address")
	switch {
	case ifc.IPv6Address.IsZero():
		p.add(f, "is missing; ipv6 static needs an address like 2001:db8::10/64")
		return netip.Prefix{}, false
	case !ifc.IPv6Address.IsValid() || !ifc.IPv6Address.Addr().Is6() || ifc.IPv6Address.Addr().Is4In6():
		p.add(f, "%q is not an IPv6 address with a prefix length (like 2001:db8::10/64)", ifc.IPv6Address.String())
		return netip.Prefix{}, false
	}
	a, ok := checkHostPrefix(p, f, ifc.IPv6Address, true)
	if !ok {
		return netip.Prefix{}, false
	}
	g, gf := ifc.IPv6Gateway, fld(base, "ipv6_gateway")
	switch {
	case g.IsZero():
		p.add(gf, "is missing; ipv6 static needs the IPv6 default gateway")
	case !g.IsValid() || !g.Addr.Is6() || g.Addr.Is4In6():
		p.add(gf, "%q is not an IPv6 address", g.String())
	case g.Addr == a.Addr():
		p.add(gf, "%s is the interface's own address", g)
	case g.Addr.IsLinkLocalUnicast():
		// fe80::1 is how many routers announce themselves.
	case !a.Masked().Contains(g.Addr):
		p.add(gf, "%s is neither in the interface's subnet %s nor link-local (fe80::/10)", g, a.Masked())
	}
	return a, true
}
