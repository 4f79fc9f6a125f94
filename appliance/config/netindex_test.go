package config

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// netIndex must answer exactly as a scan of the claims in order would:
// the earliest claim that overlaps (or contains) the query.
func TestNetIndexMatchesAScan(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 18))
	randPrefix := func() netip.Prefix {
		if rnd.IntN(8) == 0 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rnd.IntN(4)), byte(rnd.IntN(256))})
			return netip.PrefixFrom(a, 32+rnd.IntN(97)).Masked()
		}
		// A small space, so that claims nest and repeat often.
		a := netip.AddrFrom4([4]byte{10, byte(rnd.IntN(4)), byte(rnd.IntN(4)), byte(rnd.IntN(256))})
		return netip.PrefixFrom(a, 8+rnd.IntN(25)).Masked()
	}
	scan := func(cs []claimed, n netip.Prefix) (claimed, bool) {
		for _, c := range cs {
			if c.prefix.Overlaps(n) {
				return c, true
			}
		}
		return claimed{}, false
	}
	var x netIndex
	var cs []claimed
	for i := range 2000 {
		q := randPrefix()
		want, wok := scan(cs, q)
		got, gok := x.overlap(q)
		if wok != gok || want != got {
			t.Fatalf("after %d claims, overlap(%s) = %v %v; a scan finds %v %v", len(cs), q, got, gok, want, wok)
		}
		a := q.Addr()
		wantC, wokC := scan(cs, netip.PrefixFrom(a, a.BitLen()))
		if gotC, gokC := x.containing(a); wokC != gokC || wantC != gotC {
			t.Fatalf("containing(%s) = %v %v; a scan finds %v %v", a, gotC, gokC, wantC, wokC)
		}
		if i%2 == 0 {
			c := claimed{randPrefix(), idx("f", i)}
			cs = append(cs, c)
			x.add(c)
		}
	}
	if x.n != len(cs) {
		t.Errorf("n = %d, want %d", x.n, len(cs))
	}
}
