package cmdline

import "testing"

const sample = "console=ttyS0 quiet tunneler.slot=a tunneler.watchdog=15 tunneler.debug=tcpecho,hang"

func TestValue(t *testing.T) {
	c := Parse(sample)
	for _, tc := range []struct {
		key, def, want string
	}{
		{"tunneler.slot", "direct", "a"},
		{"console", "", "ttyS0"},
		{"tunneler.missing", "direct", "direct"},
		{"quiet", "none", "none"}, // a bare word has no value
		{"tunneler", "x", "x"},    // a prefix of a key is not the key
		{"tunneler.debug", "", "tcpecho,hang"},
	} {
		if got := c.Value(tc.key, tc.def); got != tc.want {
			t.Errorf("Value(%q, %q) = %q, want %q", tc.key, tc.def, got, tc.want)
		}
	}
}

func TestValueFirstWins(t *testing.T) {
	if got := Parse("k=1 k=2").Value("k", ""); got != "1" {
		t.Errorf("Value = %q, want the first, 1", got)
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int
	}{
		{"tunneler.watchdog=15", 15},
		{"", 30},
		{"tunneler.watchdog=", 30},
		{"tunneler.watchdog=abc", 30},
		{"tunneler.watchdog=0", 30},
		{"tunneler.watchdog=-5", 30},
	} {
		if got := Parse(tc.line).Int("tunneler.watchdog", 30); got != tc.want {
			t.Errorf("Parse(%q).Int = %d, want %d", tc.line, got, tc.want)
		}
	}
}

func TestDebug(t *testing.T) {
	for _, tc := range []struct {
		line, flag string
		want       bool
	}{
		{"tunneler.debug=hang", "hang", true},
		{"tunneler.debug=tcpecho,hang", "hang", true},
		{"tunneler.debug=tcpecho,hang", "tcpecho", true},
		{"tunneler.debug=saveloop,panic", "panic", true},
		{"tunneler.debug=tcpecho,hang", "tcp", false}, // whole flags only
		{"tunneler.debug=hanging", "hang", false},
		{"tunneler.debug=", "", false},
		{"", "hang", false},
		{"hang", "hang", false}, // a bare word is not a debug flag
	} {
		if got := Parse(tc.line).Debug(tc.flag); got != tc.want {
			t.Errorf("Parse(%q).Debug(%q) = %v, want %v", tc.line, tc.flag, got, tc.want)
		}
	}
}
