package netconf

import (
	"fmt"
	"time"
)

// Event is something the manager did or saw, for the log.
type Event struct {
	Time      time.Time
	Interface string // empty for box-wide events (hostname, DNS, NTP)
	Role      Role
	// Kind is one of link, address, route, dhcp, fallback, dns, hostname,
	// ntp, bind, error.
	Kind    string
	Message string
}

func (e Event) String() string {
	where := "netconf"
	if e.Interface != "" {
		where = fmt.Sprintf("netconf %s", e.Interface)
		if e.Role != "" {
			where += fmt.Sprintf(" (%s)", e.Role)
		}
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Kind, e.Message)
}

// emit queues an event for Options.OnEvent. A slow callback never blocks the
// manager: when the queue is full, events are dropped and counted.
func (m *Manager) emit(ifname string, role Role, kind, format string, args ...any) {
	if m.opts.OnEvent == nil {
		return
	}
	e := Event{Time: time.Now(), Interface: ifname, Role: role, Kind: kind, Message: fmt.Sprintf(format, args...)}
	m.evMu.Lock()
	defer m.evMu.Unlock()
	if m.evClosed {
		return
	}
	select {
	case m.events <- e:
	default:
		m.evDropped++
	}
}

func (m *Manager) pumpEvents() {
	defer close(m.evDone)
	for e := range m.events {
		m.opts.OnEvent(e)
	}
}
