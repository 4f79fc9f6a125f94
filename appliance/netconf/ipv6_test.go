package netconf

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/insomniacslk/dhcp/rfc1035label"
)

func TestIPv6Sysctls(t *testing.T) {
	for _, tc := range []struct {
		role Role
		mode IPv6Mode
		want string
	}{
		{RoleWAN, IPv6Off, "accept_ra=0 autoconf=0 disable_ipv6=1"},
		{RoleWAN, IPv6SLAAC, "disable_ipv6=1 accept_ra=2 autoconf=1 disable_ipv6=0"},
		{RoleWAN, IPv6DHCP, "disable_ipv6=1 accept_ra=2 autoconf=0 disable_ipv6=0"},
		{RoleWAN, IPv6Static, "disable_ipv6=1 accept_ra=0 autoconf=0 disable_ipv6=0"},
		// The management side never takes router advertisements, and
		// keeps its link-local address.
		{RoleLAN, IPv6Off, "accept_ra=0 autoconf=0"},
		{RoleLAN, IPv6SLAAC, "accept_ra=0 autoconf=0"},
	} {
		var got []string
		for _, s := range ipv6Sysctls(tc.role, tc.mode) {
			got = append(got, s.Key+"="+s.Value)
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.role, tc.mode, g, tc.want)
		}
	}
}

func TestValidateIPv6Spec(t *testing.T) {
	for _, tc := range []struct {
		name string
		is   IfaceSpec
		want string
	}{
		{"static with gateway", IfaceSpec{Role: RoleWAN, IPv6: IPv6Static, Addresses: []netip.Prefix{pfx("2001:db8::10/64")}, Gateway6: addr("2001:db8::1")}, ""},
		{"link-local gateway", IfaceSpec{Role: RoleWAN, IPv6: IPv6Static, Addresses: []netip.Prefix{pfx("2001:db8::10/64")}, Gateway6: addr("fe80::1")}, ""},
		{"unknown mode", IfaceSpec{Role: RoleWAN, IPv6: "auto"}, `IPv6 mode "auto" is not off, slaac, dhcpv6 or static`},
		{"LAN", IfaceSpec{Role: RoleLAN, IPv6: IPv6SLAAC}, "IPv6 is for the WAN only"},
		{"gateway off subnet", IfaceSpec{Role: RoleWAN, IPv6: IPv6Static, Addresses: []netip.Prefix{pfx("2001:db8::10/64")}, Gateway6: addr("2001:db9::1")}, "IPv6 gateway 2001:db9::1 is outside the interface's networks"},
		{"gateway without static", IfaceSpec{Role: RoleWAN, IPv6: IPv6SLAAC, Gateway6: addr("fe80::1")}, "needs IPv6 static"},
		{"IPv4 gateway6", IfaceSpec{Role: RoleWAN, IPv6: IPv6Static, Gateway6: addr("10.0.0.1")}, "is not an IPv6 unicast address"},
	} {
		err := Spec{Interfaces: []IfaceSpec{tc.is}}.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// reply6 is a DHCPv6 Reply granting addr with the given IA_NA times.
func reply6(t *testing.T, a string, t1, pref, valid time.Duration, status *dhcpv6.OptStatusCode) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	m.MessageType = dhcpv6.MessageTypeReply
	ia := &dhcpv6.OptIANA{IaId: [4]byte{1, 2, 3, 4}, T1: t1, T2: 2 * t1}
	if a != "" {
		ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP(a), PreferredLifetime: pref, ValidLifetime: valid})
	}
	if status != nil {
		ia.Options.Add(status)
	}
	m.AddOption(ia)
	m.AddOption(dhcpv6.OptDNS(net.ParseIP("2001:db8:1::53")))
	m.AddOption(dhcpv6.OptDomainSearchList(&rfc1035label.Labels{Labels: []string{"v6.example"}}))
	return m
}

func TestLease6From(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l, err := lease6From(reply6(t, "2001:db8:1::123", 30*time.Minute, time.Hour, 2*time.Hour, nil), now)
	if err != nil {
		t.Fatal(err)
	}
	want := &Lease6{Address: pfx("2001:db8:1::123/128"), DNS: []netip.Addr{addr("2001:db8:1::53")}, Search: []string{"v6.example"},
		Obtained: now, Renew: now.Add(30 * time.Minute), Expiry: now.Add(2 * time.Hour)}
	if diff := cmp.Diff(want, l, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("lease (-want +got):\n%s", diff)
	}
	// T1 0 leaves the time to the client: half the preferred lifetime.
	if l, err := lease6From(reply6(t, "2001:db8:1::123", 0, time.Hour, 2*time.Hour, nil), now); err != nil || l.Renew != now.Add(30*time.Minute) {
		t.Errorf("T1 0: renew %v, %v; want half the preferred lifetime", l, err)
	}
	for _, tc := range []struct {
		name  string
		reply *dhcpv6.Message
		want  string
	}{
		{"no address", reply6(t, "", time.Hour, time.Hour, time.Hour, nil), "no address"},
		{"link-local", reply6(t, "fe80::5", time.Hour, time.Hour, time.Hour, nil), "not a usable IPv6 address"},
		{"no addresses left", reply6(t, "", time.Hour, time.Hour, time.Hour, &dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "pool empty"}), "pool empty"},
	} {
		if _, err := lease6From(tc.reply, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}
