package ipconv

import (
	"net"
	"net/netip"
	"testing"
)

func TestPrefix(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *net.IPNet
		want string // "" for not ok
	}{
		{"nil", nil, ""},
		{"v4 host bits kept", &net.IPNet{IP: net.IPv4(192, 0, 2, 7).To4(), Mask: net.CIDRMask(24, 32)}, "192.0.2.7/24"},
		{"v4 in 16 bytes", &net.IPNet{IP: net.IPv4(192, 0, 2, 0), Mask: net.CIDRMask(24, 32)}, "192.0.2.0/24"},
		{"v6", &net.IPNet{IP: net.ParseIP("2001:db8::1"), Mask: net.CIDRMask(64, 128)}, "2001:db8::1/64"},
		{"malformed", &net.IPNet{IP: net.IP{1, 2, 3}, Mask: net.CIDRMask(24, 32)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := Prefix(tc.in)
			if tc.want == "" {
				if ok {
					t.Fatalf("Prefix = %v, want not ok", p)
				}
				return
			}
			if !ok || p.String() != tc.want {
				t.Fatalf("Prefix = %v, %v; want %s", p, ok, tc.want)
			}
		})
	}
}

func TestIPNetRoundTrip(t *testing.T) {
	for _, s := range []string{"192.0.2.7/24", "0.0.0.0/0", "2001:db8::1/64", "::/0", "10.0.0.1/32"} {
		p := netip.MustParsePrefix(s)
		n := IPNet(p)
		if got, ok := Prefix(n); !ok || got != p {
			t.Errorf("Prefix(IPNet(%s)) = %v, %v (net %v)", s, got, ok, n)
		}
	}
	if got := IPNet(netip.MustParsePrefix("192.0.2.7/24").Masked()).String(); got != "192.0.2.0/24" {
		t.Errorf("IPNet of a masked prefix = %s, want 192.0.2.0/24", got)
	}
}
