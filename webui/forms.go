package webui

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// Form decoders turn url.Values into config pieces. They never fail: what
// does not parse is kept as text (config.ParsePrefix, ParseAddr) so
// Validate reports it next to its field, together with every other
// problem. Each has a fuzz target in fuzz_test.go.

// maxFormBytes bounds every form body but those that carry a whole
// document (documentFormBytes).
const maxFormBytes = 256 << 10

// documentFormBytes bounds a form that carries a config document or an
// imported file: the largest document, URL-encoded (quotes and newlines
// take three bytes each).
const documentFormBytes = 3*config.MaxDocumentBytes + 64<<10

// lines splits a textarea into trimmed, non-empty lines (commas too, as
// people paste "10.0.0.0/24, 10.1.0.0/24").
func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) > 256 {
		out = out[:256] // Validate's limits are lower; this only bounds memory
	}
	return out
}

func prefixes(s string) []config.Prefix {
	var out []config.Prefix
	for _, l := range lines(s) {
		out = append(out, config.ParsePrefix(l))
	}
	return out
}

func addrs(s string) []config.Addr {
	var out []config.Addr
	for _, l := range lines(s) {
		out = append(out, config.ParseAddr(l))
	}
	return out
}

func field(v url.Values, k string) string { return strings.TrimSpace(v.Get(k)) }

// tunnelForm is a decoded tunnel form. KeepPSK means the PSK field was
// left empty on an edit form: keep the stored key. Bad holds fields whose
// text cannot even be kept in the config (an interface id that is not a
// number), with their message.
type tunnelForm struct {
	Tunnel  config.Tunnel
	KeepPSK bool
	Bad     map[string]string
}

// decodeTunnelForm reads the tunnel form (setup step 3 and Tunnels): every
// setting a tunnel has, the IPsec ones through decodeIKEForm.
func decodeTunnelForm(v url.Values) tunnelForm {
	ike, keep := decodeIKEForm(v)
	t := config.Tunnel{
		Name:           strings.ToLower(field(v, "name")),
		PeerAddress:    field(v, "peer_address"),
		IKESettings:    ike,
		RemoteNetworks: prefixes(v.Get("remote_networks")),
		LocalNetworks:  prefixes(v.Get("local_networks")),
		Routes:         prefixes(v.Get("routes")),
	}
	if a := field(v, "local_address"); a != "" {
		t.LocalAddress = config.ParseAddr(a)
	}
	if m := field(v, "mode"); m != "" {
		t.Mode = config.TunnelMode(m)
	}
	f := tunnelForm{Tunnel: t, KeepPSK: keep}
	if id, ok := ifID(field(v, "if_id")); ok {
		f.Tunnel.IfID = id
	} else {
		f.Bad = map[string]string{"if_id": "is not a number; route mode needs an xfrm interface id from 1 to 4294967295"}
	}
	return f
}

// decodeInterfacesForm updates the WAN and LAN interfaces of ifs from the
// form (fields wan_mode, wan_address, wan_gateway, wan_dns, lan_...),
// keeping MAC bindings and other interfaces as they are. It returns the
// list and the index of each role in it, for error mapping.
func decodeInterfacesForm(v url.Values, ifs []config.Interface) []config.Interface {
	out := slices.Clone(ifs)
	for _, role := range []config.Role{config.RoleWAN, config.RoleLAN} {
		r := string(role)
		i := slices.IndexFunc(out, func(x config.Interface) bool { return x.Role == role })
		if i < 0 {
			out = append(out, config.Interface{Role: role})
			i = len(out) - 1
		}
		in := &out[i]
		in.Mode = config.AddrMode(field(v, r+"_mode"))
		if in.Mode == "" {
			in.Mode = config.ModeDHCP
		}
		in.Address, in.Gateway, in.DNS = config.Prefix{}, config.Addr{}, nil
		if in.Mode == config.ModeStatic {
			if a := field(v, r+"_address"); a != "" {
				in.Address = config.ParsePrefix(a)
			}
			if g := field(v, r+"_gateway"); g != "" {
				in.Gateway = config.ParseAddr(g)
			}
			in.DNS = addrs(v.Get(r + "_dns"))
		}
	}
	return out
}

// decodeSystemForm updates host name, time zone, NTP servers and remote
// syslog (Settings, "System").
func decodeSystemForm(v url.Values, s config.System) config.System {
	s.Hostname = field(v, "hostname")
	s.Timezone = field(v, "timezone")
	s.NTPServers = lines(v.Get("ntp_servers"))
	s.RemoteSyslog = field(v, "remote_syslog")
	return s
}

// passwordForm is the admin password form (setup step 1, Settings).
type passwordForm struct {
	Current, New, Confirm string
}

func decodePasswordForm(v url.Values) passwordForm {
	return passwordForm{Current: v.Get("current"), New: v.Get("password"), Confirm: v.Get("confirm")}
}

// problems of a password form, by form field; the hash itself is made by
// the caller only when there are none.
func (p passwordForm) problems() map[string]string {
	errs := map[string]string{}
	switch n := len([]rune(p.New)); {
	case n == 0:
		errs["password"] = "is missing"
	case n < adminpw.MinLength:
		errs["password"] = fmt.Sprintf("is %d characters long; use at least %d", n, adminpw.MinLength)
	case n > 1024:
		errs["password"] = "is longer than 1024 characters"
	}
	if p.Confirm != p.New {
		errs["confirm"] = "does not match the password"
	}
	return errs
}

// decodeSetupCode reads the typed setup code, normalised.
func decodeSetupCode(v url.Values) string { return NormalizeSetupCode(v.Get("code")) }

// NormalizeSetupCode is the owner's: people type codes with spaces or
// dashes between groups, and in either case, so "1234-5678", "1234 5678"
// and "12345678" are one code. Box.CheckSetupCode gets the typed code in
// this form, so compare it with NormalizeSetupCode(the printed code).
func NormalizeSetupCode(s string) string { return control.NormalizeSetupCode(s) }

// logWindows are the Logs page's time windows.
var logWindows = []struct {
	Value string
	D     time.Duration
}{{"15m", 15 * time.Minute}, {"1h", time.Hour}, {"6h", 6 * time.Hour}, {"24h", 24 * time.Hour}, {"all", 0}}

// decodeLogQuery reads the Logs page's filter: kind (repeatable),
// window (15m, 1h, 6h, 24h, all), or since/until (RFC 3339) for the tail
// and for a custom window, and limit.
func decodeLogQuery(v url.Values, now time.Time) (LogQuery, string) {
	var q LogQuery
	for _, k := range v["kind"] {
		if slices.Contains(logKinds, k) && !slices.Contains(q.Kinds, k) {
			q.Kinds = append(q.Kinds, k)
		}
	}
	win := v.Get("window")
	if win == "" {
		win = "1h"
	}
	known := false
	for _, w := range logWindows {
		if w.Value == win {
			known = true
			if w.D > 0 {
				q.Since = now.Add(-w.D)
			}
		}
	}
	if !known {
		win = "1h"
		q.Since = now.Add(-time.Hour)
	}
	if s, err := time.Parse(time.RFC3339Nano, v.Get("since")); err == nil {
		q.Since = s
	}
	if u, err := time.Parse(time.RFC3339Nano, v.Get("until")); err == nil {
		q.Until = u
	}
	q.Limit = 500
	var n int
	if _, err := fmt.Sscanf(v.Get("limit"), "%d", &n); err == nil && n > 0 && n <= 5000 {
		q.Limit = n
	}
	return q, win
}

// decodeRestore reads an uploaded backup (the JSON document of Settings,
// Backup). Placeholders "(hidden)" keep the stored secrets on Save.
func decodeRestore(r io.Reader) (config.Config, error) {
	return config.DecodeReader(r) // bounded by config.MaxDocumentBytes
}

// loginForm is the login form: the password and the page to go to after.
type loginForm struct {
	Password string
	Next     string // a path on this box, "/" when none or not safe
}

// decodeLoginForm reads the login form. Next must stay on this box: a
// path, not "//host" or "/\\host", and no control characters (browsers
// drop tabs and line breaks from URLs, so "/\t/host" would become
// "//host").
func decodeLoginForm(v url.Values) loginForm {
	f := loginForm{Password: v.Get("password"), Next: v.Get("next")}
	bad := strings.ContainsFunc(f.Next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' })
	if bad || !strings.HasPrefix(f.Next, "/") || strings.HasPrefix(f.Next, "//") || len(f.Next) > 1024 {
		f.Next = "/"
	}
	return f
}

// decodeChartsQuery reads the Metrics page's query: a known window (1h
// when not) and the tunnel to show ("" for all; the page drops a name it
// has no samples for).
func decodeChartsQuery(v url.Values) (win string, d time.Duration, tunnel string) {
	win = v.Get("window")
	d, ok := chartWindows[win]
	if !ok {
		win, d = "1h", time.Hour
	}
	return win, d, v.Get("tunnel")
}
