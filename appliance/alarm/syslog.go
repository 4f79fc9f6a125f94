package alarm

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Syslog sends changes to a remote syslog server as RFC 5424 messages
// over UDP (RFC 5426), one datagram each. Facility daemon (3).
type Syslog struct {
	Hostname string
	mu       sync.Mutex
	conn     net.Conn
	addr     string
}

// NewSyslog sends to hostport (host or host:port; UDP 514 without a port,
// as config.System.RemoteSyslog says). Nothing is sent until the first
// change, so a name that does not resolve yet is tried again then.
func NewSyslog(hostport, hostname string) *Syslog {
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), "514")
	}
	if hostname == "" {
		hostname = "-"
	}
	return &Syslog{Hostname: hostname, addr: hostport}
}

const (
	facilityDaemon = 3
	// sdID uses the private enterprise number RFC 5612 reserves for
	// documentation until the project has its own.
	sdID = "alarm@32473"
)

// Format renders one RFC 5424 message.
func Format(c Change, hostname string) string {
	pri := facilityDaemon*8 + int(c.Severity)
	msgid := strings.ToUpper(string(c.Kind))
	return fmt.Sprintf("<%d>1 %s %s tunneler - %s [%s key=\"%s\" state=\"%s\"] %s",
		pri, c.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), header(hostname), msgid,
		sdID, sdEscape(c.Key), c.Kind, c.Reason)
}

// header keeps a header field printable ASCII without spaces.
func header(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 32 && r < 127 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

// Send sends one change; errors are returned for logging, never retried
// (UDP syslog is best effort by design).
func (s *Syslog) Send(c Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		conn, err := net.DialTimeout("udp", s.addr, 2*time.Second)
		if err != nil {
			return fmt.Errorf("remote syslog %s: %w", s.addr, err)
		}
		s.conn = conn
	}
	if _, err := s.conn.Write([]byte(Format(c, s.Hostname))); err != nil {
		s.conn.Close()
		s.conn = nil // re-resolve next time
		return fmt.Errorf("remote syslog %s: %w", s.addr, err)
	}
	return nil
}

// Close closes the socket.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
