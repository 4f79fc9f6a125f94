package control

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/netconf"
)

// The snapshot lists the NICs with a role and all their addresses, IPv6
// ones included, with netconf's words for how they come.
func TestStatusInterfaces(t *testing.T) {
	b := New(Deps{Proc: t.TempDir(), Network: func() (netconf.Status, error) {
		return netconf.Status{Interfaces: []netconf.IfaceStatus{
			{Name: "enp0s3", Role: netconf.RoleWAN, State: "up",
				Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/24"), netip.MustParsePrefix("fd00:2::10/64")},
				Gateway:   netip.MustParseAddr("192.0.2.1"), IPv6: netconf.IPv6Static, Gateway6: netip.MustParseAddr("fd00:2::1")},
			{Name: "enp0s4", State: "no-carrier"}, // no role: left out
		}}, nil
	}})
	want := []InterfaceStatus{{Role: "wan", Name: "enp0s3", State: "up",
		Addresses: []string{"192.0.2.10/24", "fd00:2::10/64"}, How: "static, gw 192.0.2.1, IPv6 static, gw fd00:2::1"}}
	if diff := cmp.Diff(want, b.Status().Interfaces); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
}
