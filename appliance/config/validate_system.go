package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

func validateSystem(p *problems, s System) {
	if s.Hostname != "" && !validDNSName(s.Hostname) {
		p.add("system.hostname", "%q is not a valid host name: use letters, digits and '-' (not first or last), at most 63 per label", s.Hostname)
	}
	if s.Timezone != "" && !validTimezone(s.Timezone) {
		p.add("system.timezone", "%q is not a time zone name like Europe/Berlin or UTC", s.Timezone)
	}
	for i, n := range s.NTPServers {
		if !validHost(n) {
			p.add(idx("system.ntp_servers", i), "%q is not an IP address or a DNS name", n)
		}
	}
	if s.RemoteSyslog != "" {
		hp := s.RemoteSyslog
		if scheme, rest, ok := strings.Cut(hp, "://"); ok {
			if scheme != "udp" && scheme != "tcp" {
				p.add("system.remote_syslog", "%q: start with udp:// or tcp://, or give host:port alone for UDP", s.RemoteSyslog)
				return
			}
			hp = rest
		}
		if msg := hostPortProblem(hp); msg != "" {
			p.add("system.remote_syslog", "%s", msg)
		}
	}
}

// validTimezone checks the shape of an IANA name only: the image may not
// carry the zone database that would let us look it up.
func validTimezone(tz string) bool {
	if len(tz) > 64 || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") || strings.HasSuffix(tz, "/") {
		return false
	}
	for _, r := range tz {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("/_+-", r))) {
			return false
		}
	}
	return true
}

func hostPortProblem(hp string) string {
	host, port := hp, ""
	if h, p, err := net.SplitHostPort(hp); err == nil {
		host, port = h, p
	}
	if !validHost(host) {
		return fmt.Sprintf("%q is not host or host:port (like logs.example.com:514)", hp)
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port %q is not a number from 1 to 65535", port)
		}
	}
	return ""
}

func validateAdmin(p *problems, a Admin) {
	h := a.PasswordHash
	switch {
	case h.IsHidden():
		p.add("admin.password_hash", "is %q, a placeholder for the stored value, but there is no stored value to keep", Hidden)
	case h.IsZero():
	case !looksLikeHash(h.Reveal()):
		p.add("admin.password_hash", "is not a password hash (expected $argon2id$..., $2b$... or $6$...); the box stores only a hash of the password, never the password")
	}
	for i, n := range a.AllowedNetworks {
		checkNetwork(p, idx("admin.allowed_networks", i), n)
	}
}

func looksLikeHash(h string) bool {
	for _, prefix := range []string{"$argon2id$", "$2a$", "$2b$", "$2y$", "$6$", "$y$"} {
		if strings.HasPrefix(h, prefix) && len(h) > len(prefix)+20 && !strings.ContainsAny(h, " \t\r\n") {
			return true
		}
	}
	return false
}
