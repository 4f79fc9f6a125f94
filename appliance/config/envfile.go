package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// EnvTunnelName names the one tunnel a vnf-ipsec variables file describes.
const EnvTunnelName = "site"

// EnvProblem is one thing wrong with (or not honoured from) a tunneler.env.
type EnvProblem struct {
	Line    int    // 1-based; 0 when the problem is a variable that is missing
	Name    string // the variable, or a document field when no variable sets it
	Message string
	// Warning marks what the box can live with: the setting is ignored or
	// mapped to the closest thing the box does, and the message says how.
	Warning bool
}

func (p EnvProblem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Name + ": " + p.Message)
	return b.String()
}

// EnvProblems is everything ImportEnv has to say about a file.
type EnvProblems []EnvProblem

func (ps EnvProblems) Error() string {
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.Error())
	}
	return strings.Join(lines, "\n")
}

// Err returns the problems as an error if any is not a warning: an import
// with only warnings can go ahead (and the warnings shown), one with an
// error must not.
func (ps EnvProblems) Err() error {
	for _, p := range ps {
		if !p.Warning {
			return ps
		}
	}
	return nil
}

// envVar is one KEY=value line.
type envVar struct {
	line  int
	name  string
	value string
}

// envFields says which variable sets which document field, so validation
// errors can be told back in the file's terms.
var envFields = []struct{ field, name string }{
	{"tunnels[0].local_address", "IPSEC_LOCALIP"},
	{"tunnels[0].local_id", "IPSEC_LOCALID"},
	{"tunnels[0].local_networks", "IPSEC_LOCALNET"},
	{"router.intercept_range", "IPSEC_LOCALNET"},
	{"router.inside_address", "IPSEC_LOCALNET"},
	{"tunnels[0].peer_address", "IPSEC_REMOTEIP"},
	{"tunnels[0].remote_networks", "IPSEC_REMOTENET"},
	{"tunnels[0].remote_id", "IPSEC_REMOTEID"},
	{"tunnels[0].psk", "IPSEC_PSK"},
	{"tunnels[0].ike_version", "IPSEC_KEYEXCHANGE"},
	{"tunnels[0].esp_proposals", "IPSEC_ESPCIPHER"},
	{"tunnels[0].ike_proposals", "IPSEC_IKECIPHER"},
	{"tunnels[0].child_lifetime", "IPSEC_LIFETIME"},
	{"tunnels[0].ike_lifetime", "IPSEC_IKELIFETIME"},
	{"tunnels[0].force_udp_encap", "IPSEC_FORCEUDP"},
	{"tunnels[0].accept_weak_crypto", "IPSEC_LEGACY"},
	{"tunnels[0].preset", "IPSEC_LEGACY"},
	{"tunnels[0].reauth", "IPSEC_IKEREAUTH"},
	{"tunnels[0].if_id", "IPSEC_VTI_KEY"},
	{"tunnels[0].mode", "IPSEC_VTI_KEY"},
	{"tunnels[0].routes", "IPSEC_VTI_STATICROUTES"},
	{"interfaces[0].ipv6", "WAN_IPV6"},
	{"interfaces[0].ipv6_address", "WAN_IPV6_ADDRESS"},
	{"interfaces[0].ipv6_gateway", "WAN_IPV6_GATEWAY"},
}

// envIgnored are vnf-ipsec variables the box has no use for; importing
// goes ahead with a warning saying why.
var envIgnored = map[string]string{
	"IPSEC_INTERFACES":        "IKE always runs on the WAN interface; this setting is ignored",
	"SET_ROUTE_DEFAULT_TABLE": "the box installs its own routes and policies; this setting is ignored",
	"DEBUG":                   "log detail is set in the web UI; this setting is ignored",
}

// envUnsupported are vnf-ipsec variables whose meaning the box cannot
// honour; importing stops so the operator decides.
var envUnsupported = map[string]string{
	"IPSEC_VTI_IPADDR_LOCAL":  "addresses on the tunnel interface are not supported; the box routes IPSEC_VTI_STATICROUTES into the tunnel without them (remove this line)",
	"IPSEC_VTI_IPADDR_PEER":   "addresses on the tunnel interface are not supported; the box routes IPSEC_VTI_STATICROUTES into the tunnel without them (remove this line)",
	"IPSEC_USE_MANUAL_CONFIG": "hand-written strongSwan configuration is not supported; describe the tunnel with the IPSEC_ variables",
	"IPSEC_MANUAL_CHARON":     "hand-written charon configuration is not supported",
	"ENVFILE":                 "pointing at another file is not supported; put its variables in this file",
}

// maxEnvFile bounds what ImportEnv reads (a real file is under 2 KB).
const maxEnvFile = 64 << 10

// ImportEnv reads a vnf-ipsec variables file (tunneler.env) into a Config
// with one tunnel, so an operator moving from the openvnf/vnf-ipsec
// container can reuse their file. It returns the Config and every problem
// found, each naming its line and variable: syntax, values, what the box
// does not support, and the Config's own validation, told in terms of the
// variables. Use EnvProblems.Err to decide whether to import.
//
// The file is read like a shell would source it: KEY=value lines,
// "export " prefixes, # comments, blank lines, and values in single or
// double quotes. ipsec.conf notation is accepted where vnf-ipsec passed it
// through: proposals ending in "!" and lifetimes like 1h or 3600s.
func ImportEnv(r io.Reader) (Config, EnvProblems) {
	vars, probs := parseEnv(r)
	c, more := envToConfig(vars)
	probs = append(probs, more...)
	// Values the parser rejected were left unset, so validation does not
	// report them a second time.
	for _, fe := range c.Validate() {
		probs = append(probs, envProblemFor(fe, vars))
	}
	return c, probs
}

func parseEnv(r io.Reader) ([]envVar, EnvProblems) {
	var vars []envVar
	var probs EnvProblems
	data, err := io.ReadAll(io.LimitReader(r, maxEnvFile+1))
	if err != nil {
		return nil, EnvProblems{{Name: "tunneler.env", Message: fmt.Sprintf("cannot be read: %v", err)}}
	}
	if len(data) > maxEnvFile {
		return nil, EnvProblems{{Name: "tunneler.env", Message: fmt.Sprintf("is larger than %d bytes; it should be a short list of variables", maxEnvFile)}}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // BOM from Windows editors
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxEnvFile+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t")) {
			line = strings.TrimSpace(rest)
		}
		name, raw, ok := strings.Cut(line, "=")
		if !ok || !validEnvName(name) {
			// Do not quote the line: it may be the second half of a key.
			probs = append(probs, EnvProblem{Line: n, Name: "line", Message: "is not NAME=value (a name of letters, digits and _, then =, then the value)"})
			continue
		}
		value, msg := unquoteEnv(raw)
		if msg != "" {
			probs = append(probs, EnvProblem{Line: n, Name: name, Message: msg})
			continue
		}
		if first, dup := seen[name]; dup {
			probs = append(probs, EnvProblem{Line: n, Name: name, Message: fmt.Sprintf("is set again (first on line %d); set it once so it is clear which value counts", first)})
			continue
		}
		seen[name] = n
		vars = append(vars, envVar{line: n, name: name, value: value})
	}
	return vars, probs
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// unquoteEnv reads a value as a shell would for the common cases: 'single
// quotes' literally, "double quotes" with \" \\ \$ \` escapes, or bare
// text up to a # comment. It returns a message for what it cannot read
// (never quoting the value, which may be a key).
func unquoteEnv(raw string) (string, string) {
	switch {
	case raw == "":
		return "", ""
	case raw[0] == '\'':
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", "has a ' with no closing '"
		}
		return raw[1 : 1+end], trailing(raw[2+end:])
	case raw[0] == '"':
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			switch c := raw[i]; {
			case c == '\\' && i+1 < len(raw) && strings.IndexByte("\"\\$`", raw[i+1]) >= 0:
				b.WriteByte(raw[i+1])
				i++
			case c == '"':
				return b.String(), trailing(raw[i+1:])
			case c == '$' || c == '`':
				return "", "uses $ or ` inside double quotes; the box does not expand variables or commands (use single quotes for a literal value)"
			default:
				b.WriteByte(c)
			}
		}
		return "", "has a \" with no closing \""
	}
	// Bare value: the rest of the line, as docker --env-file (which
	// vnf-ipsec users feed these files to) reads it, so "10.1.0.0/16,
	// 10.2.0.0/16" works; a # after whitespace starts a comment, as in a
	// shell.
	value := raw
	for i := 1; i < len(value); i++ {
		if value[i] == '#' && (value[i-1] == ' ' || value[i-1] == '\t') {
			value = value[:i]
			break
		}
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "$`\"'\\") {
		// A shell would expand or unquote these, docker would not: the
		// value is ambiguous, so ask for quotes.
		return "", "uses a shell special character ($ ` \" ' \\) in an unquoted value; put the value in single quotes"
	}
	return value, ""
}

// trailing checks what follows a quoted value: nothing or a comment.
func trailing(rest string) string {
	rest = strings.TrimSpace(rest)
	if rest == "" || strings.HasPrefix(rest, "#") {
		return ""
	}
	return "has text after the closing quote"
}

// envToConfig maps the variables onto a Config.
func envToConfig(vars []envVar) (Config, EnvProblems) {
	var probs EnvProblems
	bad := func(v envVar, format string, args ...any) {
		probs = append(probs, EnvProblem{Line: v.line, Name: v.name, Message: fmt.Sprintf(format, args...)})
	}
	warn := func(v envVar, format string, args ...any) {
		probs = append(probs, EnvProblem{Line: v.line, Name: v.name, Message: fmt.Sprintf(format, args...), Warning: true})
	}
	c := Config{Version: CurrentVersion}
	t := Tunnel{Name: EnvTunnelName}
	var reauth, vtiKey, routes *envVar
	// The box's own variables (not vnf-ipsec's): IPv6 on the WAN, whose
	// IPv4 side stays on DHCP as the default has it.
	var wan *Interface
	wanV6 := func() *Interface {
		if wan == nil {
			wan = &Interface{Role: RoleWAN, Mode: ModeDHCP}
		}
		return wan
	}
	for _, v := range vars {
		v := v
		switch v.name {
		case "IPSEC_LOCALIP":
			if v.value != "%any" && v.value != "" {
				t.LocalAddress = ParseAddr(v.value)
			}
		case "IPSEC_LOCALID":
			t.LocalID = v.value
		case "IPSEC_LOCALNET":
			t.LocalNetworks = envNetworks(v.value)
		case "IPSEC_REMOTEIP":
			t.PeerAddress = v.value
		case "IPSEC_REMOTENET":
			t.RemoteNetworks = envNetworks(v.value)
		case "IPSEC_REMOTEID":
			t.RemoteID = v.value
		case "IPSEC_PSK":
			t.PSK = NewSecret(v.value)
		case "IPSEC_KEYEXCHANGE":
			switch strings.ToLower(v.value) {
			case "ikev2":
				t.IKEVersion = IKEv2
			case "ikev1":
				t.IKEVersion = IKEv1
			case "ike":
				t.IKEVersion = IKEv2
				warn(v, "ike (either version) is not supported; the box uses ikev2, so a remote device that speaks only IKEv1 needs ikev1 here")
			default:
				bad(v, "must be ikev2, ikev1 or ike")
			}
		case "IPSEC_ESPCIPHER":
			t.ESPProposals = envProposals(v.value)
		case "IPSEC_IKECIPHER":
			t.IKEProposals = envProposals(v.value)
		case "IPSEC_LIFETIME", "IPSEC_IKELIFETIME":
			d, ok := parseIPsecTime(v.value)
			if !ok {
				bad(v, "%q is not a time like 3600, 60m, 1h or 1d", v.value)
				continue
			}
			if v.name == "IPSEC_LIFETIME" {
				t.ChildLifetime = Dur(d)
			} else {
				t.IKELifetime = Dur(d)
			}
		case "IPSEC_FORCEUDP":
			b, ok := parseYesNo(v.value)
			if !ok {
				bad(v, "must be yes or no")
			}
			t.ForceUDPEncap = b
		case "IPSEC_LEGACY":
			// Not a vnf-ipsec variable: the box's own, so a file that
			// carries an old device's SHA-1/group 2 proposals can say,
			// in the file, that weak crypto is accepted on purpose.
			b, ok := parseYesNo(v.value)
			if !ok {
				bad(v, "must be yes or no")
				continue
			}
			if b {
				t.Preset, t.AcceptWeakCrypto = LegacyPreset, true
			}
		case "IPSEC_IKEREAUTH":
			b, ok := parseYesNo(v.value)
			if !ok {
				bad(v, "must be yes or no")
				continue
			}
			t.Reauth = b
			reauth = &v
		case "IPSEC_VTI_KEY":
			n, err := strconv.ParseUint(v.value, 0, 32)
			if err != nil || n == 0 {
				bad(v, "%q is not a key from 1 to 4294967295", v.value)
				continue
			}
			t.Mode, t.IfID = ModeRoute, uint32(n)
			vtiKey = &v
		case "IPSEC_VTI_STATICROUTES":
			t.Routes = envNetworks(v.value)
			routes = &v
		case "WAN_IPV6":
			wanV6().IPv6 = IPv6Mode(strings.ToLower(v.value))
		case "WAN_IPV6_ADDRESS":
			wanV6().IPv6Address = ParsePrefix(v.value)
		case "WAN_IPV6_GATEWAY":
			wanV6().IPv6Gateway = ParseAddr(v.value)
		default:
			if msg, ok := envIgnored[v.name]; ok {
				warn(v, "%s", msg)
			} else if msg, ok := envUnsupported[v.name]; ok {
				bad(v, "%s", msg)
			} else if strings.HasPrefix(v.name, "IPSEC_") {
				bad(v, "is not a vnf-ipsec variable this box knows; remove it or check its spelling")
			} else {
				bad(v, "is not a vnf-ipsec variable; the file may set only the IPSEC_ variables and WAN_IPV6, WAN_IPV6_ADDRESS, WAN_IPV6_GATEWAY")
			}
		}
	}
	if routes != nil && vtiKey == nil {
		bad(*routes, "needs IPSEC_VTI_KEY: static routes go to the tunnel interface of route-based mode")
	}
	// IKEv1 has no IKE_SA rekeying: charon always re-authenticates.
	if reauth != nil && !t.Reauth && t.IKEVersion == IKEv1 {
		warn(*reauth, "IKEv1 cannot rekey without re-authenticating, so the box re-authenticates anyway")
	}
	if len(t.LocalNetworks) > 0 {
		// The router's addresses must lie in the local network the remote
		// site routes to the box; follow IPSEC_LOCALNET when the defaults
		// do not.
		first := t.LocalNetworks[0]
		if first.IsValid() && first.Bits() > 0 && !first.Contains(DefaultInsideAddress) && first.Addr().Is4() && first.Bits() <= 30 {
			c.Router.InterceptRange = PrefixFrom(first.Masked())
			c.Router.InsideAddress = AddrFrom(first.Masked().Addr().Next())
		}
	}
	c.Tunnels = []Tunnel{t}
	if wan != nil {
		c.Interfaces = []Interface{*wan}
	}
	return c, probs
}

// envNetworks splits a comma-separated list of networks; a bare address
// means that one host, as in ipsec.conf.
func envNetworks(s string) []Prefix {
	var out []Prefix
	for _, item := range splitList(s) {
		if !strings.Contains(item, "/") {
			if a, err := netip.ParseAddr(item); err == nil {
				out = append(out, PrefixFrom(netip.PrefixFrom(a, a.BitLen())))
				continue
			}
		}
		out = append(out, ParsePrefix(item))
	}
	return out
}

// envProposals splits ipsec.conf proposals; the trailing "!" (strict) is
// how swanctl always behaves, so it is dropped.
func envProposals(s string) []string {
	out := splitList(s)
	for i := range out {
		out[i] = strings.TrimSuffix(out[i], "!")
	}
	return out
}

// parseIPsecTime reads ipsec.conf times: a number of seconds with an
// optional s, m, h or d suffix.
func parseIPsecTime(s string) (time.Duration, bool) {
	unit := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = strings.TrimSuffix(s, "s")
	case strings.HasSuffix(s, "m"):
		s, unit = strings.TrimSuffix(s, "m"), time.Minute
	case strings.HasSuffix(s, "h"):
		s, unit = strings.TrimSuffix(s, "h"), time.Hour
	case strings.HasSuffix(s, "d"):
		s, unit = strings.TrimSuffix(s, "d"), 24*time.Hour
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 || time.Duration(n) > 1<<62/unit {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

func parseYesNo(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "1":
		return true, true
	case "no", "false", "0":
		return false, true
	}
	return false, false
}

// envProblemFor tells a validation error in terms of the variable that set
// the field, with its line.
func envProblemFor(fe FieldError, vars []envVar) EnvProblem {
	for _, m := range envFields {
		if fe.Field != m.field && !strings.HasPrefix(fe.Field, m.field+"[") {
			continue
		}
		for _, v := range vars {
			if v.name == m.name {
				return EnvProblem{Line: v.line, Name: m.name, Message: fe.Message}
			}
		}
		return EnvProblem{Name: m.name, Message: strings.Replace(fe.Message, "is missing", "is not set", 1)}
	}
	return EnvProblem{Name: fe.Field, Message: fe.Message}
}
