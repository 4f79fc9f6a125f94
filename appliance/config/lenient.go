package config

import (
	"net/netip"
	"strings"
	"time"
)

// Prefix is a netip.Prefix that remembers the operator's text when it does
// not parse. Decoding never fails on a bad CIDR; Validate reports it with
// its field, together with every other problem in the document.
type Prefix struct {
	netip.Prefix
	text string // what was written, kept only when it did not parse
}

// PrefixFrom wraps a parsed prefix.
func PrefixFrom(p netip.Prefix) Prefix { return Prefix{Prefix: p} }

// MustPrefix parses s and panics on error; for defaults and tests.
func MustPrefix(s string) Prefix { return PrefixFrom(netip.MustParsePrefix(s)) }

// ParsePrefix never fails: a bad s gives a Prefix that is not IsValid and
// that Validate reports.
func ParsePrefix(s string) Prefix {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Prefix{text: s}
	}
	return Prefix{Prefix: p}
}

// IsZero reports whether nothing was written (for omitzero).
func (p Prefix) IsZero() bool { return !p.Prefix.IsValid() && p.text == "" }

// String returns the prefix, or the text that did not parse.
func (p Prefix) String() string {
	if p.Prefix.IsValid() {
		return p.Prefix.String()
	}
	return p.text
}

func (p Prefix) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func (p *Prefix) UnmarshalText(b []byte) error {
	*p = ParsePrefix(string(b))
	return nil
}

// Equal compares including the unparsed text (for go-cmp).
func (p Prefix) Equal(o Prefix) bool { return p == o }

// PrefixStrings is each of ps as String writes it.
func PrefixStrings(ps []Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// Addr is a netip.Addr that remembers text that did not parse; see Prefix.
type Addr struct {
	netip.Addr
	text string
}

// AddrFrom wraps a parsed address.
func AddrFrom(a netip.Addr) Addr { return Addr{Addr: a} }

// MustAddr parses s and panics on error; for defaults and tests.
func MustAddr(s string) Addr { return AddrFrom(netip.MustParseAddr(s)) }

// ParseAddr never fails; see ParsePrefix.
func ParseAddr(s string) Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Addr{text: s}
	}
	return Addr{Addr: a}
}

func (a Addr) IsZero() bool { return !a.Addr.IsValid() && a.text == "" }

func (a Addr) String() string {
	if a.Addr.IsValid() {
		return a.Addr.String()
	}
	return a.text
}

func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *Addr) UnmarshalText(b []byte) error {
	*a = ParseAddr(string(b))
	return nil
}

func (a Addr) Equal(o Addr) bool { return a == o }

// Duration is a time.Duration written as Go duration text ("50m", "3h").
// Like Prefix it keeps text that does not parse for Validate to report.
type Duration struct {
	D    time.Duration
	text string
}

// Dur wraps d.
func Dur(d time.Duration) Duration { return Duration{D: d} }

func (d Duration) IsZero() bool { return d.D == 0 && d.text == "" }

// Valid reports whether the text parsed (an unset Duration is valid).
func (d Duration) Valid() bool { return d.text == "" }

func (d Duration) String() string {
	if d.text != "" {
		return d.text
	}
	return shortDuration(d.D)
}

// shortDuration prints 3h and 50m rather than Go's 3h0m0s and 50m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Duration{}
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		*d = Duration{text: string(b)}
		return nil
	}
	*d = Duration{D: v}
	return nil
}

func (d Duration) Equal(o Duration) bool { return d == o }
