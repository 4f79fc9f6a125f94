package netconf

import (
	"time"
)

// startDHCP runs a DHCP client for f. Called with m.mu held.
func (m *Manager) startDHCP(f *iface, hostname string) {
	c := &dhcpClient{
		ifname:   f.nic.Name,
		hostname: hostname,
		inNs:     func(fn func() error) error { return inNetns(m.opts.Netns, fn) },
		timeout:  m.opts.DHCPTimeout,
		retries:  m.opts.DHCPRetries,
		onEvent: func(kind, msg string) {
			m.emit(f.nic.Name, f.role, kind, "%s", msg)
		},
	}
	c.onLease = func(l *Lease) { m.onLease(f, c, l) }
	f.dhcp = c
	m.wg.Add(1)
	c.start(m.ctx)
	go func() {
		<-c.done
		m.wg.Done()
	}()
	m.emit(f.nic.Name, f.role, "dhcp", "asking for a lease")
}

// stopDHCP stops f's client, which releases its lease; the lease's address
// goes at the next reconcile. Called with m.mu held.
func (m *Manager) stopDHCP(f *iface) {
	if f.dhcp != nil {
		f.dhcp.stop()
		f.dhcp = nil
	}
	f.lease = nil
	m.stopFallback(f)
}

func (m *Manager) armFallback(f *iface) {
	f.timer = time.AfterFunc(m.opts.FallbackAfter, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed || m.ifaces[f.role] != f || !f.mgmt || f.dhcp == nil || f.lease != nil || f.fallback {
			return
		}
		f.fallback, f.timer = true, nil
		m.emit(f.nic.Name, f.role, "fallback", "no DHCP answer in %v: using %s while DHCP keeps trying", m.opts.FallbackAfter, FallbackPrefix)
		for _, err := range m.reconcile(false) {
			m.emit(f.nic.Name, f.role, "error", "%v", err)
		}
	})
}

func (m *Manager) stopFallback(f *iface) {
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	f.fallback = false
}

// onLease is the DHCP client's report: a new or renewed lease, or nil when
// the lease was lost.
func (m *Manager) onLease(f *iface, c *dhcpClient, l *Lease) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.ifaces[f.role] != f || f.dhcp != c {
		return // a stale client: its role was rebound or switched to static
	}
	old := f.lease
	f.lease = l
	switch {
	case l == nil:
		m.emit(f.nic.Name, f.role, "dhcp", "lease lost")
		if f.mgmt && f.timer == nil && !f.fallback {
			m.armFallback(f)
		}
	case old != nil && old.Address == l.Address:
		m.emit(f.nic.Name, f.role, "dhcp", "lease on %s renewed until %s", l.Address, l.Expiry.Format(time.RFC3339))
	default:
		if f.fallback || f.timer != nil {
			m.stopFallback(f)
		}
		m.emit(f.nic.Name, f.role, "dhcp", "lease %s from %s, router %v, DNS %v, until %s",
			l.Address, l.Server, l.Router, l.DNS, l.Expiry.Format(time.RFC3339))
	}
	for _, err := range m.reconcile(true) {
		m.emit(f.nic.Name, f.role, "error", "%v", err)
	}
	if f.role == RoleWAN && l != nil && (old == nil || old.Address != l.Address) {
		m.kickNTP() // the network just became usable
	}
}

// startDHCP6 runs a DHCPv6 client for f. Called with m.mu held.
func (m *Manager) startDHCP6(f *iface) {
	c := &dhcp6Client{
		ifname:  f.nic.Name,
		mac:     f.nic.MAC,
		inNs:    func(fn func() error) error { return inNetns(m.opts.Netns, fn) },
		timeout: m.opts.DHCPTimeout,
		retries: m.opts.DHCPRetries,
		onEvent: func(kind, msg string) { m.emit(f.nic.Name, f.role, kind, "%s", msg) },
	}
	c.onLease = func(l *Lease6) { m.onLease6(f, c, l) }
	f.dhcp6 = c
	m.wg.Add(1)
	c.start(m.ctx)
	go func() {
		<-c.done
		m.wg.Done()
	}()
	m.emit(f.nic.Name, f.role, "dhcpv6", "asking for an address")
}

// stopDHCP6 stops f's DHCPv6 client; its address goes at the next
// reconcile. Called with m.mu held.
func (m *Manager) stopDHCP6(f *iface) {
	if f.dhcp6 != nil {
		f.dhcp6.stop()
		f.dhcp6 = nil
	}
	f.lease6 = nil
}

// onLease6 is the DHCPv6 client's report: an address granted or extended,
// or nil when it expired.
func (m *Manager) onLease6(f *iface, c *dhcp6Client, l *Lease6) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.ifaces[f.role] != f || f.dhcp6 != c {
		return
	}
	old := f.lease6
	f.lease6 = l
	switch {
	case l == nil:
		m.emit(f.nic.Name, f.role, "dhcpv6", "address lost")
	case old != nil && old.Address == l.Address:
		m.emit(f.nic.Name, f.role, "dhcpv6", "kept %s until %s", l.Address.Addr(), l.Expiry.UTC().Format(time.RFC3339))
		return
	default:
		m.emit(f.nic.Name, f.role, "dhcpv6", "got %s until %s", l.Address.Addr(), l.Expiry.UTC().Format(time.RFC3339))
	}
	for _, err := range m.reconcile(true) {
		m.emit(f.nic.Name, f.role, "error", "%v", err)
	}
}
