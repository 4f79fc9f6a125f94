package remotelog

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// ioTimeout bounds a dial and a write: a dead TCP server must not hold
// the sender for long.
const ioTimeout = 2 * time.Second

// Sender writes messages to one target. It dials on the first message
// and again after an error, so a name that does not resolve yet, or a
// server that restarts, is tried again with the next message.
type Sender struct {
	Target   Target
	Hostname string

	mu   sync.Mutex
	conn net.Conn
}

// NewSender sends to t as hostname.
func NewSender(t Target, hostname string) *Sender {
	return &Sender{Target: t, Hostname: hostname}
}

// Send sends one message. Errors are for counting and logging; the
// message is not retried (syslog over UDP is best effort by design).
func (s *Sender) Send(m Message) error {
	return s.SendRaw(Format(m, s.Hostname))
}

// SendRaw sends a message already formatted (alarm formats its own).
func (s *Sender) SendRaw(msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		conn, err := net.DialTimeout(s.Target.Network, s.Target.Addr, ioTimeout)
		if err != nil {
			return fmt.Errorf("remote syslog %s: %w", s.Target, err)
		}
		s.conn = conn
	}
	b := []byte(msg)
	if s.Target.Network == "tcp" {
		// RFC 6587 octet counting: the receiver needs no delimiter.
		b = append([]byte(strconv.Itoa(len(b))+" "), b...)
	}
	s.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := s.conn.Write(b); err != nil {
		s.conn.Close()
		s.conn = nil // dial (and resolve) again next time
		return fmt.Errorf("remote syslog %s: %w", s.Target, err)
	}
	return nil
}

// Close closes the connection; a later Send dials again.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
