package diag

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/net/bpf"
)

// ip4pkt builds an IPv4 packet (20-byte header) with an L4 header of 8
// bytes: ports for UDP/TCP, whatever else for other protocols.
func ip4pkt(src, dst string, proto byte, sport, dport uint16) []byte {
	b := make([]byte, 28)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], 28)
	b[8] = 64
	b[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	return b
}

func runFilter(t *testing.T, raw []bpf.RawInstruction, pkt []byte) bool {
	t.Helper()
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("filter does not disassemble")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("filter refused by the BPF VM: %v", err)
	}
	n, err := vm.Run(pkt)
	if err != nil {
		t.Fatalf("run filter: %v", err)
	}
	return n > 0
}

func TestWANFilter(t *testing.T) {
	f := wanFilter(netip.MustParseAddr("192.0.2.2"))
	frag := ip4pkt("192.0.2.2", "192.0.2.10", 17, 1, 1)
	binary.BigEndian.PutUint16(frag[6:], 100) // offset 800: no UDP header
	v6 := ip4pkt("192.0.2.2", "192.0.2.10", 50, 0, 0)
	v6[0] = 0x60
	for _, c := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"IKE from the peer", ip4pkt("192.0.2.2", "192.0.2.10", 17, 500, 500), true},
		{"NAT-T to the peer", ip4pkt("192.0.2.10", "192.0.2.2", 17, 4500, 4500), true},
		{"IKE from a NATed port", ip4pkt("192.0.2.2", "192.0.2.10", 17, 61000, 4500), true},
		{"ESP to the peer", ip4pkt("192.0.2.10", "192.0.2.2", 50, 0, 0), true},
		{"ESP from the peer", ip4pkt("192.0.2.2", "192.0.2.10", 50, 0, 0), true},
		{"later fragment from the peer", frag, true},
		{"DNS from the peer", ip4pkt("192.0.2.2", "192.0.2.10", 17, 53, 33000), false},
		{"TCP from the peer", ip4pkt("192.0.2.2", "192.0.2.10", 6, 500, 500), false},
		{"IKE from another host", ip4pkt("192.0.2.3", "192.0.2.10", 17, 500, 500), false},
		{"ESP of another peer", ip4pkt("192.0.2.10", "198.51.100.1", 50, 0, 0), false},
		{"not IPv4", v6, false},
	} {
		if got := runFilter(t, f, c.pkt); got != c.want {
			t.Errorf("%s: kept %v, want %v", c.name, got, c.want)
		}
	}
}

func TestInsideFilter(t *testing.T) {
	local := []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")}
	remote := []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("2001:db8::/32")}
	f, err := insideFilter(local, remote)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"echo reply from the remote host", ip4pkt("10.9.0.2", "100.64.0.1", 1, 0, 0), true},
		{"echo request to the remote host", ip4pkt("100.64.0.1", "10.9.0.2", 1, 0, 0), true},
		{"TCP to the second network", ip4pkt("100.70.1.2", "172.20.3.4", 6, 40000, 443), true},
		{"remote to remote", ip4pkt("10.9.0.2", "172.16.0.1", 1, 0, 0), false},
		{"local to local", ip4pkt("100.64.0.1", "100.64.0.2", 1, 0, 0), false},
		{"the ESP carrying it", ip4pkt("192.0.2.2", "192.0.2.10", 50, 0, 0), false},
		{"next to the remote network", ip4pkt("10.9.1.2", "100.64.0.1", 1, 0, 0), false},
	} {
		if got := runFilter(t, f, c.pkt); got != c.want {
			t.Errorf("%s: kept %v, want %v", c.name, got, c.want)
		}
	}
	// Every network a side at the bound still assembles (jumps < 256).
	var many []netip.Prefix
	for i := 0; i < maxNetworks; i++ {
		many = append(many, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16))
	}
	if _, err := insideFilter(many, many); err != nil {
		t.Errorf("%d networks a side: %v", maxNetworks, err)
	}
	if _, err := insideFilter(local, remote[2:]); err == nil {
		t.Errorf("a tunnel with IPv6 remote networks only: no error")
	}
}

// ip6pkt builds an IPv6 packet (40-byte header) with an 8-byte L4 header.
func ip6pkt(src, dst string, next byte, sport, dport uint16) []byte {
	b := make([]byte, 48)
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], 8)
	b[6], b[7] = next, 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	binary.BigEndian.PutUint16(b[40:], sport)
	binary.BigEndian.PutUint16(b[42:], dport)
	return b
}

func TestWANFilter6(t *testing.T) {
	f := wanFilter6(netip.MustParseAddr("fd00:2::2"))
	for _, c := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"IKE from the peer", ip6pkt("fd00:2::2", "fd00:2::10", 17, 500, 500), true},
		{"NAT-T to the peer", ip6pkt("fd00:2::10", "fd00:2::2", 17, 4500, 4500), true},
		{"ESP from the peer", ip6pkt("fd00:2::2", "fd00:2::10", 50, 0, 0), true},
		{"ESP to the peer", ip6pkt("fd00:2::10", "fd00:2::2", 50, 0, 0), true},
		{"DNS from the peer", ip6pkt("fd00:2::2", "fd00:2::10", 17, 53, 33000), false},
		{"TCP from the peer", ip6pkt("fd00:2::2", "fd00:2::10", 6, 500, 500), false},
		{"IKE from a neighbour differing in the last byte", ip6pkt("fd00:2::3", "fd00:2::10", 17, 500, 500), false},
		{"IKE from a host differing in the first word", ip6pkt("fd01:2::2", "fd00:2::10", 17, 500, 500), false},
		{"ESP of another peer", ip6pkt("fd00:2::10", "2001:db8::1", 50, 0, 0), false},
		{"IPv4 with the same ports", ip4pkt("192.0.2.2", "192.0.2.10", 17, 500, 500), false},
	} {
		if got := runFilter(t, f, c.pkt); got != c.want {
			t.Errorf("%s: kept %v, want %v", c.name, got, c.want)
		}
	}
}
