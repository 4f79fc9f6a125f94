package netconf

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

func TestDesiredState(t *testing.T) {
	lease := &Lease{Address: pfx("10.0.0.5/24"), Router: addr("10.0.0.1"),
		DNS: []netip.Addr{addr("10.0.0.53"), addr("9.9.9.9")}, Domain: "site.example"}
	lanLease := &Lease{Address: pfx("172.16.0.9/24"), Router: addr("172.16.0.1"), DNS: []netip.Addr{addr("172.16.0.53"), addr("9.9.9.9")}}
	def4 := pfx("0.0.0.0/0")
	for _, tc := range []struct {
		name   string
		ifs    []ifaceState
		addrs  []string
		routes []routeKey
		dns    string
	}{
		{
			name:   "WAN lease gives address, default route, DNS",
			ifs:    []ifaceState{{Role: RoleWAN, Link: 2, Spec: IfaceSpec{DHCP: true}, Lease: lease}},
			addrs:  []string{"2 10.0.0.5/24"},
			routes: []routeKey{{Link: 2, Dst: def4, Gw: addr("10.0.0.1"), DHCP: true}},
			dns:    "10.0.0.53 9.9.9.9",
		},
		{
			name: "LAN lease router is not a default route; DNS after WAN's",
			ifs: []ifaceState{
				{Role: RoleLAN, Link: 3, Spec: IfaceSpec{DHCP: true}, Lease: lanLease},
				{Role: RoleWAN, Link: 2, Spec: IfaceSpec{DHCP: true, DNS: []netip.Addr{addr("1.1.1.1")}}, Lease: lease},
			},
			addrs:  []string{"2 10.0.0.5/24", "3 172.16.0.9/24"},
			routes: []routeKey{{Link: 2, Dst: def4, Gw: addr("10.0.0.1"), DHCP: true}},
			dns:    "1.1.1.1 10.0.0.53 9.9.9.9 172.16.0.53",
		},
		{
			name:   "static gateway wins over the DHCP router",
			ifs:    []ifaceState{{Role: RoleWAN, Link: 2, Spec: IfaceSpec{DHCP: true, Gateway: addr("10.0.0.254")}, Lease: lease}},
			addrs:  []string{"2 10.0.0.5/24"},
			routes: []routeKey{{Link: 2, Dst: def4, Gw: addr("10.0.0.254")}},
			dns:    "10.0.0.53 9.9.9.9",
		},
		{
			name: "static WAN and LAN; LAN gateway ignored",
			ifs: []ifaceState{
				{Role: RoleWAN, Link: 2, Spec: IfaceSpec{Addresses: []netip.Prefix{pfx("198.51.100.2/29")}, Gateway: addr("198.51.100.1")}},
				{Role: RoleLAN, Link: 3, Spec: IfaceSpec{Addresses: []netip.Prefix{pfx("192.168.1.1/24")}, Gateway: addr("192.168.1.254")}},
			},
			addrs:  []string{"2 198.51.100.2/29", "3 192.168.1.1/24"},
			routes: []routeKey{{Link: 2, Dst: def4, Gw: addr("198.51.100.1")}},
		},
		{
			name:  "fallback only without a lease",
			ifs:   []ifaceState{{Role: RoleLAN, Link: 3, Spec: IfaceSpec{DHCP: true}, Fallback: true}},
			addrs: []string{"3 192.168.77.1/24"},
		},
		{
			name:  "lease replaces fallback",
			ifs:   []ifaceState{{Role: RoleLAN, Link: 3, Spec: IfaceSpec{DHCP: true}, Lease: lanLease, Fallback: true}},
			addrs: []string{"3 172.16.0.9/24"},
			dns:   "172.16.0.53 9.9.9.9",
		},
		{
			name:   "gateway outside a /32 lease is on-link",
			ifs:    []ifaceState{{Role: RoleWAN, Link: 2, Spec: IfaceSpec{DHCP: true}, Lease: &Lease{Address: pfx("100.70.1.2/32"), Router: addr("100.70.0.1")}}},
			addrs:  []string{"2 100.70.1.2/32"},
			routes: []routeKey{{Link: 2, Dst: def4, Gw: addr("100.70.0.1"), OnLink: true, DHCP: true}},
		},
		{
			name:   "IPv6 gateway makes an IPv6 default route",
			ifs:    []ifaceState{{Role: RoleWAN, Link: 2, Spec: IfaceSpec{Addresses: []netip.Prefix{pfx("2001:db8::2/64")}, Gateway: addr("2001:db8::1")}}},
			addrs:  []string{"2 2001:db8::2/64"},
			routes: []routeKey{{Link: 2, Dst: pfx("::/0"), Gw: addr("2001:db8::1")}},
		},
		{
			name: "static IPv6 beside DHCP IPv4",
			ifs: []ifaceState{{Role: RoleWAN, Link: 2, Spec: IfaceSpec{DHCP: true, IPv6: IPv6Static,
				Addresses: []netip.Prefix{pfx("2001:db8:1::10/64")}, Gateway6: addr("2001:db8:1::1")}}},
			addrs:  []string{"2 2001:db8:1::10/64"},
			routes: []routeKey{{Link: 2, Dst: pfx("::/0"), Gw: addr("2001:db8:1::1")}},
		},
		{
			name: "link-local IPv6 gateway beside a static IPv4 one",
			ifs: []ifaceState{{Role: RoleWAN, Link: 2, Spec: IfaceSpec{IPv6: IPv6Static,
				Addresses: []netip.Prefix{pfx("198.51.100.2/29"), pfx("2001:db8:1::10/64")},
				Gateway:   addr("198.51.100.1"), Gateway6: addr("fe80::1")}}},
			addrs: []string{"2 198.51.100.2/29", "2 2001:db8:1::10/64"},
			routes: []routeKey{
				{Link: 2, Dst: def4, Gw: addr("198.51.100.1")},
				{Link: 2, Dst: pfx("::/0"), Gw: addr("fe80::1")},
			},
		},
		{
			name: "DHCPv6 address, DNS and search; the route is the kernel's (RA)",
			ifs: []ifaceState{{Role: RoleWAN, Link: 2, Spec: IfaceSpec{DHCP: true, IPv6: IPv6DHCP},
				Lease6: &Lease6{Address: pfx("2001:db8:1::123/128"), DNS: []netip.Addr{addr("2001:db8:1::53")}}}},
			addrs: []string{"2 2001:db8:1::123/128"},
			dns:   "2001:db8:1::53",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := desiredState(tc.ifs)
			var addrs []string
			for a := range d.Addrs {
				addrs = append(addrs, a.String())
			}
			slices.Sort(addrs)
			if !slices.Equal(addrs, tc.addrs) {
				t.Errorf("addresses %q, want %q", addrs, tc.addrs)
			}
			var routes []routeKey
			for r := range d.Routes {
				routes = append(routes, r)
			}
			sortRoutes(routes)
			if !slices.Equal(routes, tc.routes) {
				t.Errorf("routes %+v, want %+v", routes, tc.routes)
			}
			var dns []string
			for _, a := range d.DNS {
				dns = append(dns, a.String())
			}
			if got := strings.Join(dns, " "); got != tc.dns {
				t.Errorf("DNS %q, want %q", got, tc.dns)
			}
		})
	}
}

func (a linkAddr) String() string { return strconv.Itoa(a.Link) + " " + a.Prefix.String() }

func set[T comparable](xs ...T) map[T]bool {
	m := map[T]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func TestAddrPlanTouchesOnlyOwned(t *testing.T) {
	mine := linkAddr{2, pfx("10.0.0.5/24")}
	theirs := linkAddr{2, pfx("10.9.9.9/24")}
	next := linkAddr{2, pfx("10.0.0.6/24")}
	// Same spec again: nothing to do.
	del, add := addrPlan(set(mine, theirs), set(mine), set(mine))
	if len(del)+len(add) != 0 {
		t.Fatalf("re-apply: del %v add %v, want nothing", del, add)
	}
	// New spec: ours goes, theirs stays, the new one comes.
	del, add = addrPlan(set(mine, theirs), set(mine), set(next))
	if !slices.Equal(del, []linkAddr{mine}) || !slices.Equal(add, []linkAddr{next}) {
		t.Fatalf("change: del %v add %v", del, add)
	}
	// A wanted address someone else already has is left alone (and not
	// removed later, as it is not owned).
	del, add = addrPlan(set(theirs), set[linkAddr](), set(theirs))
	if len(del)+len(add) != 0 {
		t.Fatalf("shared: del %v add %v", del, add)
	}
	// After the link lost its address, it is added again.
	_, add = addrPlan(set[linkAddr](), set(mine), set(mine))
	if !slices.Equal(add, []linkAddr{mine}) {
		t.Fatalf("lost: add %v", add)
	}
}

func TestRoutePlan(t *testing.T) {
	def := pfx("0.0.0.0/0")
	old := routeKey{Link: 2, Dst: def, Gw: addr("10.0.0.1"), DHCP: true}
	nu := routeKey{Link: 2, Dst: def, Gw: addr("10.0.0.254")}
	other := routeKey{Link: 2, Dst: pfx("10.50.0.0/16"), Gw: addr("10.0.0.9")}
	have := set(old.id(), other.id())
	del, add := routePlan(have, set(old), set(old))
	if len(del)+len(add) != 0 {
		t.Fatalf("re-apply: del %v add %v", del, add)
	}
	del, add = routePlan(have, set(old), set(nu))
	if !slices.Equal(del, []routeKey{old}) || !slices.Equal(add, []routeKey{nu}) {
		t.Fatalf("change: del %v add %v", del, add)
	}
	// The kernel dropped the route when the link went down: add again.
	_, add = routePlan(set(other.id()), set(old), set(old))
	if !slices.Equal(add, []routeKey{old}) {
		t.Fatalf("after link down: add %v", add)
	}
}
