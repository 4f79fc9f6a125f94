package netconf

import (
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"net/netip"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	if err := DefaultSpec().Validate(); err != nil {
		t.Fatalf("default spec: %v", err)
	}
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"bad role", Spec{Interfaces: []IfaceSpec{{Role: "dmz"}}}, `role "dmz" is not wan or lan`},
		{"role twice", Spec{Interfaces: []IfaceSpec{{Role: RoleWAN}, {Role: RoleWAN}}}, `role "wan" appears twice`},
		{"same MAC twice", Spec{Interfaces: []IfaceSpec{{Role: RoleWAN, MAC: mac("02:00:00:00:00:01")}, {Role: RoleLAN, MAC: mac("02:00:00:00:00:01")}}},
			"already bound to wan"},
		{"short MAC", Spec{Interfaces: []IfaceSpec{{Role: RoleWAN, MAC: []byte{1, 2}}}}, "not an Ethernet address"},
		{"zero address", Spec{Interfaces: []IfaceSpec{{Role: RoleWAN, Addresses: []netip.Prefix{pfx("0.0.0.0/24")}}}}, "not a usable interface address"},
		{"gateway off-net", Spec{Interfaces: []IfaceSpec{{Role: RoleWAN, Addresses: []netip.Prefix{pfx("10.0.0.2/24")}, Gateway: addr("10.0.1.1")}}},
			"outside the interface's networks"},
		{"multicast DNS", Spec{Interfaces: []IfaceSpec{{Role: RoleWAN, DNS: []netip.Addr{addr("224.0.0.1")}}}}, "not a unicast address"},
		{"hostname", Spec{Hostname: "-bad"}, "may not begin or end with '-'"},
		{"hostname chars", Spec{Hostname: "my_box"}, `character '_'`},
		{"ntp", Spec{NTPServers: []string{"pool ntp"}}, "not a host name or address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// Every problem is reported at once.
	err := Spec{Hostname: "a_b", Interfaces: []IfaceSpec{{Role: "x"}, {Role: RoleWAN, DNS: []netip.Addr{addr("0.0.0.0")}}}}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("want three problems, got %v", err)
	}
	// A DHCP interface may name a gateway its lease will put on-net.
	if err := (Spec{Interfaces: []IfaceSpec{{Role: RoleWAN, DHCP: true, Gateway: addr("10.0.0.1")}}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestResolvConf(t *testing.T) {
	got := string(resolvConf([]netip.Addr{addr("10.0.0.53"), addr("2001:db8::53")}, []string{"site.example"}))
	want := "# Written by tunneler (appliance/netconf); edits are overwritten.\n" +
		"search site.example\nnameserver 10.0.0.53\nnameserver 2001:db8::53\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLeaseFromACK(t *testing.T) {
	ack, err := dhcpv4.New(
		dhcpv4.WithYourIP(net.IPv4(10, 0, 0, 5)),
		dhcpv4.WithServerIP(net.IPv4(10, 0, 0, 1)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 0, 0, 1))),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(22, 32))),
		dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(10, 0, 0, 1))),
		dhcpv4.WithOption(dhcpv4.OptDNS(net.IPv4(10, 0, 0, 53))),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(800*time.Second)),
	)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	l := leaseFrom(&nclient4.Lease{Offer: ack, ACK: ack, CreationTime: now})
	if l.Address != pfx("10.0.0.5/22") || l.Router != addr("10.0.0.1") || l.Server != addr("10.0.0.1") ||
		len(l.DNS) != 1 || l.DNS[0] != addr("10.0.0.53") {
		t.Fatalf("lease %+v", l)
	}
	// Without T1/T2 options, RFC 2131 defaults: half and seven eighths.
	if l.Renew.Sub(now) != 400*time.Second || l.Rebind.Sub(now) != 700*time.Second || l.Expiry.Sub(now) != 800*time.Second {
		t.Fatalf("times T1 %v T2 %v expiry %v", l.Renew.Sub(now), l.Rebind.Sub(now), l.Expiry.Sub(now))
	}
}

func TestIfaceStatusString(t *testing.T) {
	i := IfaceStatus{Name: "enp0s3", Role: RoleWAN, Shared: true, MAC: mac("52:54:00:12:34:56"), State: "up",
		Addresses: []netip.Prefix{pfx("192.168.77.1/24")}, DHCP: true, Fallback: true}
	want := "wan+mgmt enp0s3     52:54:00:12:34:56  up         192.168.77.1/24 (fallback, DHCP still trying)"
	if got := i.String(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
