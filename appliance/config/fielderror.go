package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field, in words an operator can act on.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "tunnels[0].remote_networks[1]",
	// so the web UI can put the message next to the right input.
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors is every problem Validate found. A nil FieldErrors means
// the document is fine; use Err to get a nil error in that case.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	var b strings.Builder
	if len(es) > 1 {
		fmt.Fprintf(&b, "%d problems: ", len(es))
	}
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns es as an error, or nil when there are none (a nil slice in
// a non-nil error interface is a classic Go trap).
func (es FieldErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// problems collects FieldErrors while walking the document.
type problems struct{ list FieldErrors }

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// path helpers keep field names consistent with the JSON tags.
func idx(base string, i int) string { return fmt.Sprintf("%s[%d]", base, i) }
func fld(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}
