package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// checkShape walks the JSON tokens of data next to the Go type of v and
// reports the first key that the type does not have, a key written twice,
// or a value of the wrong JSON type, with the exact path and position.
//
// encoding/json alone is not strict enough for a document an operator
// types: DisallowUnknownFields names the field but not where it is, it
// matches keys case-insensitively ("PSK" would fill "psk"), it lets a
// repeated key silently win, and its type errors leave out array indices.
func checkShape(data []byte, v any) error {
	w := shapeWalker{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	return w.value(reflect.TypeOf(v).Elem(), "")
}

type shapeWalker struct {
	data []byte
	dec  *json.Decoder
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// next returns the next token and the offset where it starts.
func (w *shapeWalker) next() (json.Token, int64, error) {
	off := w.dec.InputOffset()
	// InputOffset is the end of the previous token; skip separators to
	// point at the token itself.
	for off < int64(len(w.data)) && strings.IndexByte(" \t\r\n,:", w.data[off]) >= 0 {
		off++
	}
	tok, err := w.dec.Token()
	if err != nil {
		return nil, off, w.errAt(off, "", "not valid JSON: "+trimJSONPrefix(err.Error()))
	}
	return tok, off, nil
}

func (w *shapeWalker) errAt(off int64, field, msg string) error {
	line, col := position(w.data, off)
	return &DecodeError{Line: line, Column: col, Field: field, Message: msg}
}

func (w *shapeWalker) value(t reflect.Type, path string) error {
	tok, off, err := w.next()
	if err != nil {
		return err
	}
	if tok == nil { // null leaves a Go value alone, as encoding/json does
		return nil
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		if _, ok := tok.(string); !ok {
			return w.wrongType(tok, off, path, "a string")
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return w.valueFrom(tok, off, t.Elem(), path)
	default:
		return w.valueFrom(tok, off, t, path)
	}
}

func (w *shapeWalker) valueFrom(tok json.Token, off int64, t reflect.Type, path string) error {
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return w.wrongType(tok, off, path, "an object { ... }")
		}
		return w.object(t, path)
	case reflect.Slice, reflect.Array:
		if tok != json.Delim('[') {
			return w.wrongType(tok, off, path, "a list [ ... ]")
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(t.Elem(), idx(path, i)); err != nil {
				return err
			}
		}
		_, _, err := w.next() // ]
		return err
	case reflect.Map:
		if tok != json.Delim('{') {
			return w.wrongType(tok, off, path, "an object { ... }")
		}
		return w.members(path, func(key string, _ int64) error {
			return w.value(t.Elem(), fld(path, key))
		})
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return w.wrongType(tok, off, path, "a string")
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return w.wrongType(tok, off, path, "true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := tok.(json.Number)
		if !ok {
			return w.wrongType(tok, off, path, "a whole number")
		}
		// Let encoding/json judge the range for this exact type.
		if err := json.Unmarshal([]byte(n), reflect.New(t).Interface()); err != nil {
			return w.errAt(off, path, fmt.Sprintf("%s is not a whole number that fits (0 to %s)", n, maxOf(t)))
		}
	case reflect.Interface:
		return w.skip(tok)
	default:
		return w.errAt(off, path, fmt.Sprintf("cannot be decoded into %s", t))
	}
	return nil
}

func maxOf(t reflect.Type) string {
	if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
		return fmt.Sprint(uint64(1)<<(t.Bits()) - 1)
	}
	return fmt.Sprint(int64(1)<<(t.Bits()-1) - 1)
}

// object walks the members of a JSON object against struct type t.
func (w *shapeWalker) object(t reflect.Type, path string) error {
	fields := jsonFields(t)
	return w.members(path, func(key string, koff int64) error {
		f, ok := fields[key]
		if !ok {
			msg := "is not a known field"
			if hint := closest(key, fields); hint != "" {
				msg += fmt.Sprintf("; did you mean %q?", hint)
			}
			return w.errAt(koff, fld(path, key), msg)
		}
		return w.value(f.Type, fld(path, key))
	})
}

// members walks the members of a JSON object whose '{' was read, and its
// closing '}'. A key written twice is an error; member is called with
// each key and its offset, before the key's value is read.
func (w *shapeWalker) members(path string, member func(key string, koff int64) error) error {
	seen := map[string]bool{}
	for w.dec.More() {
		k, koff, err := w.next()
		if err != nil {
			return err
		}
		key := k.(string)
		if seen[key] {
			return w.errAt(koff, fld(path, key), "is written twice; remove one")
		}
		seen[key] = true
		if err := member(key, koff); err != nil {
			return err
		}
	}
	_, _, err := w.next() // }
	return err
}

// jsonFields maps the JSON names of t's exported fields to the fields.
// The fields of an embedded struct without a JSON name stand inline, as
// encoding/json reads them (Tunnel and Profile embed IKESettings); a field
// of t itself wins over one of the same name from an embedded struct.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	var promoted []map[string]reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			promoted = append(promoted, jsonFields(f.Type))
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f
	}
	for _, p := range promoted {
		for name, f := range p {
			if _, ok := m[name]; !ok {
				m[name] = f
			}
		}
	}
	return m
}

// closest suggests a known field for a misspelt key: same letters in
// another case, or another spelling of the same words (ikeVersion,
// ike-version for ike_version).
func closest(key string, fields map[string]reflect.StructField) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
	}
	for name := range fields {
		if norm(name) == norm(key) {
			return name
		}
	}
	return ""
}

func (w *shapeWalker) wrongType(tok json.Token, off int64, path, want string) error {
	if err := w.skip(tok); err != nil {
		return err
	}
	what := describe(tok)
	if isSecretPath(path) {
		// Never echo what may be a key typed into the wrong shape.
		what = kindOf(tok)
	}
	return w.errAt(off, path, fmt.Sprintf("is %s, but must be %s", what, want))
}

// skip consumes the rest of a value whose first token was tok.
func (w *shapeWalker) skip(tok json.Token) error {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		t, _, err := w.next()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "a list"
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + string(v)
	case bool:
		return fmt.Sprintf("%t", v)
	}
	return "null"
}

// kindOf names the JSON type of tok without its value.
func kindOf(tok json.Token) string {
	switch tok.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "true or false"
	}
	return describe(tok)
}

// isSecretPath reports whether a JSON path names a secret field in any
// document version.
func isSecretPath(path string) bool {
	last := path[strings.LastIndexByte(path, '.')+1:]
	return last == "psk" || last == "password_hash" || strings.HasPrefix(path, "tunnel_psks")
}
