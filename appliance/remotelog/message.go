package remotelog

import (
	"fmt"
	"strings"
	"time"
)

// Severity is syslog's (RFC 5424 table 2).
type Severity int

const (
	Emergency Severity = iota
	Alert
	Critical
	Error
	Warning
	Notice
	Info
	Debug
)

// facilityDaemon (3): the box's daemons, init among them.
const facilityDaemon = 3

// maxMessage bounds one message: RFC 5426 says receivers SHOULD take
// 2048 bytes, and a runaway line must not make jumbo datagrams.
const maxMessage = 2048

// Message is one log line to send.
type Message struct {
	Time     time.Time
	Severity Severity
	App      string // APP-NAME: "tunneler" (init), "charon", "ziti-router"
	MsgID    string // "" for none
	SD       string // structured data, "[id k=\"v\"]"; "" for none
	Text     string
}

// Format renders m as one RFC 5424 message from hostname.
func Format(m Message, hostname string) string {
	pri := facilityDaemon*8 + int(m.Severity&7)
	sd := m.SD
	if sd == "" {
		sd = "-"
	}
	s := fmt.Sprintf("<%d>1 %s %s %s - %s %s %s", pri, m.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		Header(hostname), Header(m.App), Header(m.MsgID), sd, oneLine(m.Text))
	if len(s) > maxMessage {
		s = strings.ToValidUTF8(s[:maxMessage], "")
	}
	return s
}

// Header keeps a header field printable ASCII without spaces ("-" when
// nothing is left), as RFC 5424 wants.
func Header(s string) string {
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

// oneLine keeps a message on one line: a receiver splitting on newlines
// (TCP without octet counting) would see a forged second message.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == 0 {
			return ' '
		}
		return r
	}, strings.TrimRight(s, "\r\n"))
}

// FromSlogText reads one line of init's log (slog's text format:
// "time=15:04:05 level=WARN msg=... k=v") into a Message stamped now:
// the severity from level, the text without the time (syslog has its
// own).
func FromSlogText(line string, now time.Time) Message {
	text := strings.TrimRight(line, "\r\n")
	if rest, ok := strings.CutPrefix(text, "time="); ok {
		if i := strings.IndexByte(rest, ' '); i >= 0 {
			text = rest[i+1:]
		}
	}
	sev := Info
	if rest, ok := strings.CutPrefix(text, "level="); ok {
		lvl, _, _ := strings.Cut(rest, " ")
		switch {
		case strings.HasPrefix(lvl, "ERROR"):
			sev = Error
		case strings.HasPrefix(lvl, "WARN"):
			sev = Warning
		case strings.HasPrefix(lvl, "DEBUG"):
			sev = Debug
		}
	}
	return Message{Time: now, Severity: sev, App: "tunneler", Text: text}
}
