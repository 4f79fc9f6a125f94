package config

import (
	"fmt"
	"io"
)

// Hidden is what a Secret prints as, everywhere but the secrets file.
const Hidden = "(hidden)"

// Secret holds a pre-shared key or a password hash.
//
// The value sits in an unexported field so that fmt, encoding/json, go-cmp
// reports and log lines cannot reach it by reflection: every verb of fmt
// prints "(hidden)" (Secret implements fmt.Formatter, which fmt consults
// before String and GoString), and MarshalText writes "(hidden)". The only
// way to read it is Reveal, so a grep for Reveal finds every place a secret
// leaves the process.
//
// Decoding "(hidden)" yields a placeholder (IsHidden) rather than a secret
// whose value is the word "(hidden)": a page that got a config from the API
// and posts it back unchanged must not overwrite the stored key. Use
// Config.KeepSecrets to put the stored values back in.
type Secret struct {
	value  string
	hidden bool
}

// NewSecret wraps a value read from an operator (form, file, console).
func NewSecret(value string) Secret { return Secret{value: value} }

// Reveal returns the secret itself. Call it only to hand the value to
// charon over VICI, to write the secrets file, or to check the value.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no secret is set (and no placeholder either).
func (s Secret) IsZero() bool { return s.value == "" && !s.hidden }

// IsHidden reports whether this is the "(hidden)" placeholder that stands
// for "keep the stored value".
func (s Secret) IsHidden() bool { return s.hidden }

// Equal lets go-cmp and tests compare secrets without exporting the value.
func (s Secret) Equal(o Secret) bool { return s == o }

// String prints "(hidden)" for a set secret and "" for an empty one, so a
// form can still show whether a key is set.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return Hidden
}

// GoString keeps %#v from showing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format makes every fmt verb (%v %s %q %x %d %#v ...) print the redacted
// form; without it %x of a struct holding a Secret would still print hex of
// the unexported field's bytes via reflection.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, s.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		io.WriteString(f, s.String())
	}
}

// MarshalText writes "(hidden)" (or "" when unset): the main document, API
// answers and logs never carry a secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts the real value from an imported file or a form, and
// turns "(hidden)" into the keep-the-stored-value placeholder.
func (s *Secret) UnmarshalText(b []byte) error {
	if string(b) == Hidden {
		*s = Secret{hidden: true}
		return nil
	}
	*s = Secret{value: string(b)}
	return nil
}
