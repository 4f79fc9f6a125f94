package config

import "net/netip"

// netIndex answers "which earlier network overlaps this one?" without
// scanning every earlier network, so Validate stays fast on a head-end's
// document (a thousand tunnels and sites, each with its networks).
//
// Two CIDR prefixes overlap only when one contains the other. A claim of
// p is therefore recorded under p itself (exact) and under each of p's
// supernets (below: "some claim lies inside this prefix"). A query for n
// looks up n in below (claims inside n or equal to it) and each supernet
// of n in exact (claims containing n): at most 33 lookups for IPv4, 129
// for IPv6, however many networks are claimed. Of several overlapping
// claims it returns the earliest, as a scan in claim order would, so the
// messages name the same field they always did.
type netIndex struct {
	exact map[netip.Prefix]indexed
	below map[netip.Prefix]indexed
	n     int
}

type indexed struct {
	claimed
	order int
}

// add claims n (masked) for field; an earlier claim of the same prefix
// or supernet keeps its place.
func (x *netIndex) add(c claimed) {
	if x.exact == nil {
		x.exact, x.below = map[netip.Prefix]indexed{}, map[netip.Prefix]indexed{}
	}
	e := indexed{c, x.n}
	x.n++
	p := c.prefix.Masked()
	if _, ok := x.exact[p]; !ok {
		x.exact[p] = e
	}
	for bits := p.Bits(); bits >= 0; bits-- {
		s, _ := p.Addr().Prefix(bits)
		if _, ok := x.below[s]; ok {
			break // s and its supernets already hold an earlier claim
		}
		x.below[s] = e
	}
}

// overlap returns the earliest claim that overlaps n.
func (x *netIndex) overlap(n netip.Prefix) (claimed, bool) {
	n = n.Masked()
	best, found := x.below[n]
	for bits := n.Bits() - 1; bits >= 0; bits-- {
		s, _ := n.Addr().Prefix(bits)
		if e, ok := x.exact[s]; ok && (!found || e.order < best.order) {
			best, found = e, true
		}
	}
	return best.claimed, found
}

// containing returns the earliest claim that contains a.
func (x *netIndex) containing(a netip.Addr) (claimed, bool) {
	return x.overlap(netip.PrefixFrom(a, a.BitLen()))
}
