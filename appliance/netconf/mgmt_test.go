package netconf

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestManagementAddrs(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		ifs  []IfaceStatus
		want []netip.Addr
	}{
		{"no interfaces", nil, nil},
		{"LAN only, WAN left out", []IfaceStatus{
			{Name: "eth0", Role: RoleWAN, Addresses: pfx("203.0.113.5/24")},
			{Name: "eth1", Role: RoleLAN, Addresses: pfx("192.168.77.1/24")},
		}, addrs("192.168.77.1")},
		{"LAN without an address yet: nothing, not the WAN", []IfaceStatus{
			{Name: "eth0", Role: RoleWAN, Addresses: pfx("203.0.113.5/24")},
			{Name: "eth1", Role: RoleLAN},
		}, nil},
		{"single NIC shares the WAN", []IfaceStatus{
			{Name: "eth0", Role: RoleWAN, Shared: true, Addresses: pfx("203.0.113.5/24", "2001:db8::5/64")},
		}, addrs("203.0.113.5", "2001:db8::5")},
		{"link-local and loopback left out", []IfaceStatus{
			{Name: "eth1", Role: RoleLAN, Addresses: pfx("fe80::1/64", "127.0.0.2/8", "169.254.3.4/16", "10.0.0.1/24")},
		}, addrs("10.0.0.1")},
		{"sorted, repeats dropped", []IfaceStatus{
			{Name: "eth1", Role: RoleLAN, Addresses: pfx("192.168.77.1/24", "10.0.0.1/24", "192.168.77.1/32")},
		}, addrs("10.0.0.1", "192.168.77.1")},
		{"NIC without a role left out", []IfaceStatus{
			{Name: "eth2", Addresses: pfx("172.16.0.1/24")},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Status{Interfaces: tc.ifs}.ManagementAddrs()
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("ManagementAddrs (-want +got):\n%s", diff)
			}
		})
	}
}
