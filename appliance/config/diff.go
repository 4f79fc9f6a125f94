package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Change is one field that differs between two configs, in words short
// enough for a line of the Settings page's history.
//
// Field is a path like the ones FieldErrors use, except that list entries
// with a name are named rather than numbered, so a change reads the same
// whatever the entry's position: "tunnels[web-a].peer_address",
// "interfaces[LAN].address", "sites[hq].remotes[1].profile".
//
// A secret's value is never in Old or New: a changed secret is
// {Old: "", New: "changed"}, a new one "set" and a removed one "removed".
// An entry added or removed as a whole is one Change with New "added" or
// "removed" and no Old. Other values are as they would be written in the
// document, lists joined with ", ", cut at MaxChangeValue characters.
type Change struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// MaxChangeValue is how many characters of a value a Change keeps.
const MaxChangeValue = 60

// What Change.New says for an entry or a secret that has no value to show.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeSet     = "set"     // a secret that was empty
	ChangeChanged = "changed" // a secret with a new value
)

// String is the change as one line: "tunnels[web-a].peer_address:
// 203.0.113.5 → 203.0.113.9", "tunnels[web-a].psk: changed",
// "tunnels[web-b]: added".
func (c Change) String() string {
	switch {
	case c.Old == "" && c.New == "":
		return c.Field + ": changed"
	case c.Old == "":
		if isWord(c.New) {
			return c.Field + ": " + c.New
		}
		return c.Field + ": (none) → " + c.New
	case c.New == "":
		return c.Field + ": " + c.Old + " → (none)"
	}
	return c.Field + ": " + c.Old + " → " + c.New
}

func isWord(s string) bool {
	switch s {
	case ChangeAdded, ChangeRemoved, ChangeSet, ChangeChanged:
		return true
	}
	return false
}

// Diff lists what changed from old to new, field by field, in document
// order. Equal configs give none. Defaults are not applied: a field left
// out and the same value typed in are a change, as they are in the
// document.
func Diff(old, new Config) []Change {
	var d differ
	d.value("", reflect.ValueOf(old), reflect.ValueOf(new))
	return d.out
}

type differ struct{ out []Change }

var (
	secretType        = reflect.TypeFor[Secret]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func (d *differ) add(field, old, new string) {
	d.out = append(d.out, Change{Field: field, Old: shorten(old), New: shorten(new)})
}

// value compares a and b, which have the same type, at path.
func (d *differ) value(path string, a, b reflect.Value) {
	t := a.Type()
	switch {
	case t == secretType:
		d.secret(path, a.Interface().(Secret), b.Interface().(Secret))
	case t.Implements(textMarshalerType) || isScalar(t.Kind()):
		if x, y := format(a), format(b); x != y {
			d.add(path, x, y)
		}
	case t.Kind() == reflect.Pointer:
		if x, y := format(a), format(b); x != y {
			d.add(path, x, y)
		}
	case t.Kind() == reflect.Struct:
		d.fields(path, a, b)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && !t.Elem().Implements(textMarshalerType):
		d.entries(path, a, b)
	case t.Kind() == reflect.Slice:
		if x, y := format(a), format(b); x != y {
			d.add(path, x, y)
		}
	default:
		// Maps, interfaces: Config has none. Say that something changed
		// rather than guess at a value.
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			d.add(path, "", "")
		}
	}
}

func (d *differ) secret(path string, a, b Secret) {
	switch {
	case a.Equal(b):
	case a.IsZero():
		d.add(path, "", ChangeSet)
	case b.IsZero():
		d.add(path, "", ChangeRemoved)
	default:
		d.add(path, "", ChangeChanged)
	}
}

// fields compares a struct field by field, naming each by its JSON key.
func (d *differ) fields(path string, a, b reflect.Value) {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// Embedded settings (IKESettings) are inline in the
			// document, as encoding/json writes them.
			d.fields(path, a.Field(i), b.Field(i))
			continue
		}
		if name == "" {
			name = f.Name
		}
		d.value(join(path, name), a.Field(i), b.Field(i))
	}
}

// entries compares lists of structs, matching entries by their key (see
// entryKey) when every entry on both sides has a distinct one, and by
// position otherwise.
func (d *differ) entries(path string, a, b reflect.Value) {
	ka, okA := keys(a)
	kb, okB := keys(b)
	if !okA || !okB {
		for i := range max(a.Len(), b.Len()) {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= a.Len():
				d.add(p, "", ChangeAdded)
			case i >= b.Len():
				d.add(p, "", ChangeRemoved)
			default:
				d.value(p, a.Index(i), b.Index(i))
			}
		}
		return
	}
	inB := map[string]int{}
	for j, k := range kb {
		inB[k] = j
	}
	inA := map[string]bool{}
	// Old order first (removed and changed entries), then what is new.
	for i, k := range ka {
		inA[k] = true
		p := path + "[" + k + "]"
		j, ok := inB[k]
		if !ok {
			d.add(p, "", ChangeRemoved)
			continue
		}
		d.value(p, a.Index(i), b.Index(j))
	}
	for _, k := range kb {
		if !inA[k] {
			d.add(path+"["+k+"]", "", ChangeAdded)
		}
	}
}

// keys returns each entry's key, and false when some entry has none or
// two share one (then entries are matched by position).
func keys(list reflect.Value) ([]string, bool) {
	var out []string
	seen := map[string]bool{}
	for i := range list.Len() {
		k := entryKey(list.Index(i))
		if k == "" || seen[k] {
			return nil, false
		}
		seen[k] = true
		out = append(out, k)
	}
	return out, true
}

// entryKey is what names a list entry: an interface's role (upper case,
// as the pages write it), or a Name field (tunnels, profiles, sites).
// Remotes have neither: their position is their preference.
func entryKey(v reflect.Value) string {
	if i, ok := v.Interface().(Interface); ok {
		return strings.ToUpper(string(i.Role))
	}
	if f := v.FieldByName("Name"); f.IsValid() && f.Kind() == reflect.String {
		// A name too odd to print in a path (validation refuses it anyway)
		// falls back to positions.
		if n := f.String(); !strings.ContainsAny(n, "[]\n") && utf8.ValidString(n) {
			return n
		}
	}
	return ""
}

func isScalar(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// format writes a leaf value as the document would: text for types that
// marshal to text, "" for a zero number or false (a field left out), a
// pointer's target, a list's items joined with ", ".
func format(v reflect.Value) string {
	t := v.Type()
	switch {
	case t == secretType:
		return v.Interface().(Secret).String() // "(hidden)" at most
	case t.Implements(textMarshalerType):
		if z, ok := v.Interface().(interface{ IsZero() bool }); ok && z.IsZero() {
			return "" // left out, as omitzero writes it
		}
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "(unprintable)"
		}
		return string(b)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return format(v.Elem())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range v.Len() {
			parts[i] = format(v.Index(i))
		}
		return strings.Join(parts, ", ")
	case reflect.Bool:
		if v.Bool() {
			return "true"
		}
		return "" // false and left out are the same setting
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() == 0 {
			return ""
		}
		return fmt.Sprint(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() == 0 {
			return ""
		}
		return fmt.Sprint(v.Uint())
	}
	return fmt.Sprint(v.Interface())
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// shorten cuts s to MaxChangeValue characters and makes it one line.
func shorten(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if utf8.RuneCountInString(s) <= MaxChangeValue {
		return s
	}
	r := []rune(s)
	return string(r[:MaxChangeValue-1]) + "…"
}
