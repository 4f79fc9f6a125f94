package firewall

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
)

// The Ruleset: one whole table built in memory (chains, rules, named
// counters, sets), read back as nft-like text (Rules, Set, String) and
// sent to the kernel in one transaction by Install (apply.go).

type chainDef struct {
	name   string
	hook   *nftables.ChainHook
	prio   *nftables.ChainPriority
	policy *nftables.ChainPolicy
}

type setDef struct {
	set   nftables.Set
	elems []nftables.SetElement
	text  []string // elements as nft prints them
}

// Ruleset is a whole table, built but not yet sent to the kernel.
type Ruleset struct {
	chains   []chainDef
	sets     []setDef
	counters []string
	rules    []*rule
}

// Counters lists the named counters the ruleset creates, in rule order.
func (rs *Ruleset) Counters() []string { return append([]string(nil), rs.counters...) }

// Rules returns the rules of one chain as nft-like text.
func (rs *Ruleset) Rules(chain string) []string {
	var out []string
	for _, r := range rs.rules {
		if r.chain == chain {
			out = append(out, r.String())
		}
	}
	return out
}

// Set returns the elements of one set as text, and whether it exists.
func (rs *Ruleset) Set(name string) ([]string, bool) {
	for _, s := range rs.sets {
		if s.set.Name == name {
			return s.text, true
		}
	}
	return nil, false
}

// String prints the whole table roughly as `nft list table` would.
func (rs *Ruleset) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", TableName)
	for _, c := range rs.counters {
		fmt.Fprintf(&b, "\tcounter %s {}\n", c)
	}
	for _, s := range rs.sets {
		fmt.Fprintf(&b, "\tset %s { type %s; elements = { %s } }\n", s.set.Name, s.set.KeyType.Name, strings.Join(s.text, ", "))
	}
	for _, c := range rs.chains {
		fmt.Fprintf(&b, "\tchain %s {\n", c.name)
		if c.hook != nil {
			pol := "accept"
			if c.policy != nil && *c.policy == nftables.ChainPolicyDrop {
				pol = "drop"
			}
			fmt.Fprintf(&b, "\t\ttype filter hook %d priority %d; policy %s;\n", *c.hook, *c.prio, pol)
		}
		for _, r := range rs.Rules(c.name) {
			fmt.Fprintf(&b, "\t\t%s\n", r)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func (rs *Ruleset) chain(name string, hook nftables.ChainHook, prio nftables.ChainPriority, policy nftables.ChainPolicy) {
	rs.chains = append(rs.chains, chainDef{name: name, hook: &hook, prio: &prio, policy: &policy})
}

func (rs *Ruleset) regularChain(name string) {
	rs.chains = append(rs.chains, chainDef{name: name})
}

// rule starts a rule in chain; it is part of rs from then on.
func (rs *Ruleset) rule(chain string) *rule {
	r := newRule(chain)
	rs.rules = append(rs.rules, r)
	return r
}

// counter registers a named counter (once) and returns its name.
func (rs *Ruleset) counter(name string) string {
	for _, c := range rs.counters {
		if c == name {
			return name
		}
	}
	rs.counters = append(rs.counters, name)
	return name
}

func (rs *Ruleset) count(r *rule, name string) *rule {
	return r.counter(rs.counter(name))
}

func (rs *Ruleset) ifnameSet(name string, names []string) {
	sd := setDef{set: nftables.Set{Name: name, KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian}}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		sd.elems = append(sd.elems, nftables.SetElement{Key: ifname(n)})
		sd.text = append(sd.text, fmt.Sprintf("%q", n))
	}
	rs.sets = append(rs.sets, sd)
}

func (rs *Ruleset) addrSets(name4, name6 string, addrs []netip.Addr) {
	s4 := setDef{set: nftables.Set{Name: name4, KeyType: nftables.TypeIPAddr}}
	s6 := setDef{set: nftables.Set{Name: name6, KeyType: nftables.TypeIP6Addr}}
	seen := map[netip.Addr]bool{}
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if seen[a] {
			continue
		}
		seen[a] = true
		s := &s4
		if a.Is6() {
			s = &s6
		}
		s.elems = append(s.elems, nftables.SetElement{Key: a.AsSlice()})
		s.text = append(s.text, a.String())
	}
	rs.sets = append(rs.sets, s4, s6)
}

// prefixSets builds interval sets of prefixes. An interval is sent as its
// first address and, flagged as the end, the first address after it; a
// range reaching the top of the address space has no end element.
func (rs *Ruleset) prefixSets(name4, name6 string, prefixes []netip.Prefix) {
	s4 := setDef{set: nftables.Set{Name: name4, KeyType: nftables.TypeIPAddr, Interval: true}}
	s6 := setDef{set: nftables.Set{Name: name6, KeyType: nftables.TypeIP6Addr, Interval: true}}
	for _, p := range mergePrefixes(prefixes) {
		s := &s4
		if p.Addr().Is6() {
			s = &s6
		}
		s.elems = append(s.elems, nftables.SetElement{Key: p.Addr().AsSlice()})
		if end, ok := afterPrefix(p); ok {
			s.elems = append(s.elems, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
		s.text = append(s.text, p.String())
	}
	rs.sets = append(rs.sets, s4, s6)
}

// mergePrefixes masks, sorts and drops prefixes contained in others: the
// kernel refuses overlapping intervals.
func mergePrefixes(in []netip.Prefix) []netip.Prefix {
	var ps []netip.Prefix
	for _, p := range in {
		if p.IsValid() {
			ps = append(ps, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-(p.Addr().BitLen()-p.Addr().Unmap().BitLen())).Masked())
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if c := ps[i].Addr().Compare(ps[j].Addr()); c != 0 {
			return c < 0
		}
		return ps[i].Bits() < ps[j].Bits()
	})
	var out []netip.Prefix
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Addr().BitLen() == p.Addr().BitLen() && out[n-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// afterPrefix returns the first address after p, if there is one.
func afterPrefix(p netip.Prefix) (netip.Addr, bool) {
	b := p.Masked().Addr().AsSlice()
	// set the host bits, then add one.
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			a, _ := netip.AddrFromSlice(b)
			return a, true
		}
	}
	return netip.Addr{}, false
}

func (rs *Ruleset) portSet(name string, ports []uint16) {
	sd := setDef{set: nftables.Set{Name: name, KeyType: nftables.TypeInetService}}
	seen := map[uint16]bool{}
	for _, p := range ports {
		if seen[p] || p == 0 {
			continue
		}
		seen[p] = true
		sd.elems = append(sd.elems, nftables.SetElement{Key: be16(p)})
		sd.text = append(sd.text, fmt.Sprint(p))
	}
	rs.sets = append(rs.sets, sd)
}
