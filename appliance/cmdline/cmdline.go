// Package cmdline reads Tunneler's settings from the kernel command line
// (/proc/cmdline): tunneler.slot, tunneler.watchdog and the comma-separated
// test hooks of tunneler.debug. Every read goes through here so that each
// key is parsed one way only.
package cmdline

import (
	"strconv"
	"strings"
)

// DebugKey lists test hooks, comma-separated: tunneler.debug=tcpecho,hang.
const DebugKey = "tunneler.debug"

// Cmdline is a parsed kernel command line.
type Cmdline struct {
	fields []string
}

// Parse splits a kernel command line into its space-separated fields.
func Parse(s string) Cmdline {
	return Cmdline{fields: strings.Fields(s)}
}

// Value is key's value (the first key=value field), or def when the key
// is absent.
func (c Cmdline) Value(key, def string) string {
	for _, f := range c.fields {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return def
}

// Int is key's value as a positive integer, or def when it is absent, not
// a number or not above zero.
func (c Cmdline) Int(key string, def int) int {
	if v, err := strconv.Atoi(c.Value(key, "")); err == nil && v > 0 {
		return v
	}
	return def
}

// Debug reports whether tunneler.debug lists flag among its
// comma-separated test hooks.
func (c Cmdline) Debug(flag string) bool {
	if flag == "" {
		return false
	}
	for _, f := range strings.Split(c.Value(DebugKey, ""), ",") {
		if f == flag {
			return true
		}
	}
	return false
}
