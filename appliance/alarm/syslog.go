package alarm

import (
	"fmt"
	"net"
	"strings"

	"github.com/tunneler/tunneler/appliance/remotelog"
)

// Syslog sends changes to a remote syslog server as RFC 5424 messages
// through remotelog's sender (one UDP datagram each, or TCP with octet
// counting for a tcp:// target). Facility daemon (3).
type Syslog struct {
	Hostname string
	addr     string
	s        *remotelog.Sender
}

// NewSyslog sends to hostport (as config.System.RemoteSyslog says: host,
// host:port, udp:// or tcp://; UDP 514 by default). Nothing is sent until
// the first change, so a name that does not resolve yet is tried again
// then.
func NewSyslog(hostport, hostname string) *Syslog {
	t, err := remotelog.ParseTarget(hostport)
	if err != nil {
		// Validate refuses such a target; sending reports it.
		t = remotelog.Target{Network: "udp", Addr: net.JoinHostPort(strings.Trim(hostport, "[]"), remotelog.DefaultPort)}
	}
	if hostname == "" {
		hostname = "-"
	}
	return &Syslog{Hostname: hostname, addr: t.Addr, s: remotelog.NewSender(t, hostname)}
}

// sdID uses the private enterprise number RFC 5612 reserves for
// documentation until the project has its own.
const sdID = "alarm@32473"

// Format renders one RFC 5424 message.
func Format(c Change, hostname string) string {
	return remotelog.Format(remotelog.Message{
		Time:     c.Time,
		Severity: remotelog.Severity(c.Severity),
		App:      "tunneler",
		MsgID:    strings.ToUpper(string(c.Kind)),
		SD:       fmt.Sprintf("[%s key=\"%s\" state=\"%s\"]", sdID, sdEscape(c.Key), c.Kind),
		Text:     c.Reason,
	}, hostname)
}

func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

// Send sends one change; errors are returned for logging, never retried
// (UDP syslog is best effort by design).
func (s *Syslog) Send(c Change) error {
	return s.s.SendRaw(Format(c, s.Hostname))
}

// Close closes the socket.
func (s *Syslog) Close() error { return s.s.Close() }
