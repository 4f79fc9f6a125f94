package netconf

import (
	"context"
	"slices"
	"time"
)

func (m *Manager) kickNTP() {
	select {
	case m.ntpKick <- struct{}{}:
	default:
	}
}

// ntpLoop checks the clock after each Apply that changes the servers, when
// WAN gets a new lease, after failures with backoff, and every NTPInterval.
func (m *Manager) ntpLoop() {
	defer m.wg.Done()
	var next <-chan time.Time
	backoff := 5 * time.Second
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.ntpKick:
		case <-next:
		}
		m.mu.Lock()
		servers := slices.Clone(m.spec.NTPServers)
		m.mu.Unlock()
		if len(servers) == 0 {
			next = nil
			continue
		}
		if _, err := m.SyncClock(m.ctx); err != nil {
			if m.ctx.Err() != nil {
				return
			}
			next = time.After(backoff)
			backoff = min(backoff*2, 5*time.Minute)
			continue
		}
		backoff = 5 * time.Second
		next = time.After(m.opts.NTPInterval)
	}
}

// SyncClock checks the clock against the spec's NTP servers now, steps it if
// it is far off, and records the result in Status.
func (m *Manager) SyncClock(ctx context.Context) (NTPStatus, error) {
	m.mu.Lock()
	servers := slices.Clone(m.spec.NTPServers)
	m.mu.Unlock()
	st, err := ntpSync(ctx, m.opts.Netns, servers, m.opts.NTPTimeout, m.opts.NTPStepThreshold, m.opts.SetClock)
	if err != nil && st.Err == "" {
		st.Err, st.At = err.Error(), time.Now()
	}
	m.mu.Lock()
	m.ntp = st
	m.mu.Unlock()
	switch {
	case err != nil:
		m.emit("", "", "ntp", "clock check failed: %v", err)
	case st.Stepped:
		m.emit("", "", "ntp", "clock was off by %v (server %s): stepped", st.Offset, st.Server)
	default:
		m.emit("", "", "ntp", "clock is off by %v (server %s)", st.Offset, st.Server)
	}
	return st, err
}
