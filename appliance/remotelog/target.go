// Package remotelog sends log lines to a remote syslog server: RFC 5424
// messages, one UDP datagram each (RFC 5426), or over TCP with octet
// counting (RFC 6587). Its Forwarder never blocks the code that logs: lines
// wait in a bounded queue and are dropped, and counted, when the server is
// slow or unreachable. The alarm package sends its changes through Sender.
package remotelog

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPort is syslog's port, for UDP and (by common use) TCP.
const DefaultPort = "514"

// Target is where messages go.
type Target struct {
	Network string // "udp" or "tcp"
	Addr    string // host:port
}

func (t Target) String() string { return t.Network + "://" + t.Addr }

// ParseTarget reads config.System.RemoteSyslog: host, host:port,
// udp://host[:port] or tcp://host[:port]. UDP and port 514 are the
// defaults; a bare IPv6 address is a host.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	t := Target{Network: "udp"}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		switch strings.ToLower(scheme) {
		case "udp", "tcp":
			t.Network = strings.ToLower(scheme)
		default:
			return Target{}, fmt.Errorf("remote syslog %q: scheme %q is not udp:// or tcp://", s, scheme)
		}
		s = rest
	}
	host, port := s, DefaultPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		host = h
		if p != "" { // "host:" is taken as host
			port = p
		}
	} else if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		host = a.String() // bare IPv6 (or IPv4) address
	}
	host = strings.Trim(host, "[]")
	_, ipErr := netip.ParseAddr(host)
	if host == "" || strings.ContainsAny(host, " /\\@?#[]\t\r\n") || strings.Contains(host, ":") && ipErr != nil {
		return Target{}, fmt.Errorf("remote syslog %q: not host or host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Target{}, fmt.Errorf("remote syslog %q: port %q is not a number from 1 to 65535", s, port)
	}
	t.Addr = net.JoinHostPort(host, port)
	return t, nil
}
