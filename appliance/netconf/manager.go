package netconf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// DefaultFallbackAfter is how long the management interface waits for a
// DHCP lease before it takes FallbackAddress.
const DefaultFallbackAfter = 8 * time.Second

// Options are the manager's surroundings. The zero value is the real box.
type Options struct {
	// Netns is the network namespace to configure; nil means the caller's.
	// Tests run the manager in a throwaway namespace.
	Netns *netns.NsHandle
	// Physical says which links are NICs; SysfsPhysical by default.
	Physical PhysicalFunc
	// ResolvConf and HostnameFile default to /etc/resolv.conf and
	// /etc/hostname.
	ResolvConf   string
	HostnameFile string
	// SetHostname defaults to sethostname(2); SetClock to settimeofday(2).
	SetHostname func(string) error
	SetClock    SetClockFunc
	// FallbackAfter is how long the management interface waits for a DHCP
	// lease before it takes FallbackPrefix (default 8s).
	FallbackAfter time.Duration
	// DHCPTimeout is the first retransmission timeout of a DHCP exchange;
	// it doubles on each of DHCPRetries tries (defaults 2s and 3).
	DHCPTimeout time.Duration
	DHCPRetries int
	// NTPTimeout bounds one NTP query (default 5s); NTPInterval is the time
	// between successful checks (default 1h); the clock is stepped when it
	// is off by more than NTPStepThreshold (default 1s).
	NTPTimeout       time.Duration
	NTPInterval      time.Duration
	NTPStepThreshold time.Duration
	// OnEvent receives events in order on one goroutine; it may call
	// Status. No event is delivered after Close returns.
	OnEvent func(Event)
}

func (o *Options) defaults() {
	if o.Physical == nil {
		o.Physical = SysfsPhysical
	}
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
	if o.HostnameFile == "" {
		o.HostnameFile = "/etc/hostname"
	}
	if o.SetHostname == nil {
		o.SetHostname = func(h string) error { return unix.Sethostname([]byte(h)) }
	}
	if o.SetClock == nil {
		o.SetClock = SetSystemClock
	}
	if o.FallbackAfter <= 0 {
		o.FallbackAfter = DefaultFallbackAfter
	}
	if o.DHCPTimeout <= 0 {
		o.DHCPTimeout = 2 * time.Second
	}
	if o.DHCPRetries <= 0 {
		o.DHCPRetries = 3
	}
	if o.NTPTimeout <= 0 {
		o.NTPTimeout = 5 * time.Second
	}
	if o.NTPInterval <= 0 {
		o.NTPInterval = time.Hour
	}
	if o.NTPStepThreshold <= 0 {
		o.NTPStepThreshold = time.Second
	}
}

// Manager owns the box's links, addresses, default route, resolv.conf,
// hostname and clock.
type Manager struct {
	opts   Options
	k      kernel
	handle *netlink.Handle
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	spec        Spec
	applied     bool
	ifaces      map[Role]*iface
	ownedAddrs  map[linkAddr]bool
	ownedRoutes map[routeKey]bool
	linkUp      map[int]bool
	hostname    string
	dns         []netip.Addr
	search      []string
	dnsWritten  bool
	warnings    []string
	ntp         NTPStatus
	ntpKick     chan struct{}

	evMu      sync.Mutex
	evClosed  bool
	evDropped int
	events    chan Event
	evDone    chan struct{}
}

// iface is a role bound to a NIC.
type iface struct {
	role     Role
	spec     IfaceSpec
	nic      NIC
	shared   bool // WAN that also carries management
	mgmt     bool // takes the fallback address when DHCP fails
	dhcp     *dhcpClient
	lease    *Lease
	fallback bool
	timer    *time.Timer
}

// New starts a manager: it watches links from now on, but configures
// nothing until Apply.
func New(opts Options) (*Manager, error) {
	opts.defaults()
	var (
		h   *netlink.Handle
		err error
	)
	if opts.Netns != nil {
		h, err = netlink.NewHandleAt(*opts.Netns)
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	m := &Manager{
		opts:        opts,
		k:           h,
		handle:      h,
		ifaces:      map[Role]*iface{},
		ownedAddrs:  map[linkAddr]bool{},
		ownedRoutes: map[routeKey]bool{},
		linkUp:      map[int]bool{},
		ntpKick:     make(chan struct{}, 1),
		events:      make(chan Event, 256),
		evDone:      make(chan struct{}),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if opts.OnEvent != nil {
		go m.pumpEvents()
	} else {
		close(m.evDone)
	}
	ready := make(chan struct{})
	m.wg.Add(2)
	go m.watchLinks(ready)
	go m.ntpLoop()
	<-ready
	return m, nil
}

// Apply makes the network match spec. Applying the same spec again changes
// nothing; applying a different one removes the addresses and routes the
// manager added for the old one that the new one does not want, and leaves
// everything it did not add alone. Problems with single routes or addresses
// are returned together after everything else was applied.
func (m *Manager) Apply(ctx context.Context, spec Spec) error {
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("invalid network spec: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	spec = cloneSpec(spec)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("netconf: manager closed")
	}
	links, err := retryDump(m.k.LinkList)
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	byIndex := map[int]netlink.Link{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l
	}
	binds, warnings := assignRoles(discover(links, m.opts.Physical), spec.Interfaces)
	for _, w := range warnings {
		if !slices.Contains(m.warnings, w) {
			m.emit("", "", "bind", "%s", w)
		}
	}
	m.warnings = warnings

	var errs []error
	// A role that moves to another NIC (or disappears) starts afresh.
	for role, f := range m.ifaces {
		if b, ok := binds[role]; !ok || b.NIC.Index != f.nic.Index {
			m.emit(f.nic.Name, role, "bind", "no longer %s", role)
			m.stopDHCP(f)
			delete(m.ifaces, role)
		}
	}
	for _, role := range []Role{RoleWAN, RoleLAN} {
		b, ok := binds[role]
		if !ok {
			continue
		}
		f := m.ifaces[role]
		if f == nil {
			f = &iface{role: role, nic: b.NIC}
			m.ifaces[role] = f
			how := "first free NIC in PCI order"
			if len(b.Spec.MAC) > 0 && bytes.Equal(b.Spec.MAC, b.NIC.MAC) {
				how = "MAC"
			}
			m.emit(f.nic.Name, role, "bind", "%s is %s (%s, by %s)", f.nic.Name, role, f.nic.MAC, how)
		}
		f.spec, f.shared = b.Spec, b.Shared
		f.mgmt = role == RoleLAN || b.Shared
		if l := byIndex[f.nic.Index]; l != nil {
			if l.Attrs().Flags&net.FlagUp == 0 {
				if err := m.k.LinkSetUp(l); err != nil {
					errs = append(errs, fmt.Errorf("set %s up: %w", f.nic.Name, err))
				} else {
					m.emit(f.nic.Name, role, "link", "set up")
				}
			} else if _, seen := m.linkUp[f.nic.Index]; !seen {
				m.linkUp[f.nic.Index], _ = linkState(l)
			}
		}
		switch {
		case f.spec.DHCP && f.dhcp == nil:
			m.startDHCP(f, spec.Hostname)
		case !f.spec.DHCP && f.dhcp != nil:
			m.stopDHCP(f)
		}
		if !f.mgmt && (f.fallback || f.timer != nil) {
			m.stopFallback(f)
		}
		if f.mgmt && f.dhcp != nil && f.lease == nil && !f.fallback && f.timer == nil {
			m.armFallback(f)
		}
	}
	if spec.Hostname != "" && spec.Hostname != m.hostname {
		if err := m.setHostname(spec.Hostname); err != nil {
			errs = append(errs, err)
		}
	}
	ntpChanged := !m.applied || !slices.Equal(spec.NTPServers, m.spec.NTPServers)
	m.spec, m.applied = spec, true
	errs = append(errs, m.reconcile(true)...)
	if ntpChanged {
		m.kickNTP()
	}
	return errors.Join(errs...)
}

func cloneSpec(s Spec) Spec {
	s.NTPServers = slices.Clone(s.NTPServers)
	s.Interfaces = slices.Clone(s.Interfaces)
	for i := range s.Interfaces {
		is := &s.Interfaces[i]
		is.MAC = slices.Clone(is.MAC)
		is.Addresses = slices.Clone(is.Addresses)
		is.DNS = slices.Clone(is.DNS)
	}
	return s
}

func (m *Manager) setHostname(h string) error {
	if err := m.opts.SetHostname(h); err != nil {
		return fmt.Errorf("set hostname %q: %w", h, err)
	}
	if err := writeFileAtomic(m.opts.HostnameFile, []byte(h+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", m.opts.HostnameFile, err)
	}
	m.hostname = h
	m.emit("", "", "hostname", "hostname is %s", h)
	return nil
}

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

// reconcile makes addresses, routes and resolv.conf match the bound
// interfaces, touching only what differs. Called with m.mu held.
func (m *Manager) reconcile(writeDNS bool) []error {
	var states []ifaceState
	for _, f := range m.ifaces {
		states = append(states, ifaceState{Role: f.role, Link: f.nic.Index, Spec: f.spec, Lease: f.lease, Fallback: f.fallback})
	}
	want := desiredState(states)
	var errs []error

	links, err := retryDump(m.k.LinkList)
	if err != nil {
		return []error{fmt.Errorf("list links: %w", err)}
	}
	byIndex := map[int]netlink.Link{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l
	}
	involved := map[int]bool{}
	for a := range m.ownedAddrs {
		involved[a.Link] = true
	}
	for r := range m.ownedRoutes {
		involved[r.Link] = true
	}
	for a := range want.Addrs {
		involved[a.Link] = true
	}
	for r := range want.Routes {
		involved[r.Link] = true
	}
	// Routes are read again after the addresses changed: removing an
	// address takes the routes through its network with it.
	readRoutes := func() (map[routeKey]bool, error) {
		have := map[routeKey]bool{}
		for idx := range involved {
			l := byIndex[idx]
			if l == nil {
				continue
			}
			rs, err := linkRoutes(m.k, l)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				have[r] = true
			}
		}
		return have, nil
	}
	haveA := map[linkAddr]bool{}
	for idx := range involved {
		l := byIndex[idx]
		if l == nil { // the link is gone, and with it what we put on it
			for a := range m.ownedAddrs {
				if a.Link == idx {
					delete(m.ownedAddrs, a)
				}
			}
			for r := range m.ownedRoutes {
				if r.Link == idx {
					delete(m.ownedRoutes, r)
				}
			}
			for a := range want.Addrs {
				if a.Link == idx {
					delete(want.Addrs, a)
				}
			}
			for r := range want.Routes {
				if r.Link == idx {
					delete(want.Routes, r)
				}
			}
			delete(involved, idx)
			continue
		}
		as, err := linkAddrs(m.k, l)
		if err != nil {
			return append(errs, err)
		}
		for _, p := range as {
			haveA[linkAddr{idx, p}] = true
		}
	}
	name := func(idx int) (string, Role) {
		for _, f := range m.ifaces {
			if f.nic.Index == idx {
				return f.nic.Name, f.role
			}
		}
		if l := byIndex[idx]; l != nil {
			return l.Attrs().Name, ""
		}
		return fmt.Sprint(idx), ""
	}
	wantID := map[routeKey]bool{}
	for r := range want.Routes {
		wantID[r.id()] = true
	}
	// forgetGone drops what we added that went away by itself and is no
	// longer wanted.
	forgetGone := func(haveR map[routeKey]bool) {
		for a := range m.ownedAddrs {
			if !want.Addrs[a] && !haveA[a] {
				delete(m.ownedAddrs, a)
			}
		}
		for r := range m.ownedRoutes {
			if !wantID[r.id()] && !haveR[r.id()] {
				delete(m.ownedRoutes, r)
			}
		}
	}

	haveR, err := readRoutes()
	if err != nil {
		return append(errs, err)
	}
	delR, _ := routePlan(haveR, m.ownedRoutes, want.Routes)
	delA, addA := addrPlan(haveA, m.ownedAddrs, want.Addrs)
	forgetGone(haveR)
	for _, r := range delR {
		n, role := name(r.Link)
		if err := m.k.RouteDel(toRoute(r)); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("remove route %v via %v on %s: %w", r.Dst, r.Gw, n, err))
			continue
		}
		delete(m.ownedRoutes, r)
		m.emit(n, role, "route", "removed %v via %v", r.Dst, r.Gw)
	}
	for _, a := range delA {
		n, role := name(a.Link)
		if err := m.k.AddrDel(byIndex[a.Link], &netlink.Addr{IPNet: ipNet(a.Prefix)}); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("remove address %v from %s: %w", a.Prefix, n, err))
			continue
		}
		delete(m.ownedAddrs, a)
		delete(haveA, a)
		m.emit(n, role, "address", "removed %v", a.Prefix)
	}
	for _, a := range addA {
		n, role := name(a.Link)
		err := m.k.AddrAdd(byIndex[a.Link], &netlink.Addr{IPNet: ipNet(a.Prefix)})
		if errors.Is(err, unix.EEXIST) {
			continue // someone else's; not ours to remove later
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("add address %v to %s: %w", a.Prefix, n, err))
			continue
		}
		m.ownedAddrs[a] = true
		haveA[a] = true
		m.emit(n, role, "address", "added %v", a.Prefix)
	}
	if len(delA)+len(addA) > 0 {
		if haveR, err = readRoutes(); err != nil {
			return append(errs, err)
		}
		forgetGone(haveR)
	}
	_, addR := routePlan(haveR, m.ownedRoutes, want.Routes)
	for _, r := range addR {
		n, role := name(r.Link)
		err := m.k.RouteAdd(toRoute(r))
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("add route %v via %v on %s: %w", r.Dst, r.Gw, n, err))
			continue
		}
		m.ownedRoutes[r] = true
		m.emit(n, role, "route", "added %v via %v", r.Dst, r.Gw)
	}

	if writeDNS && (!m.dnsWritten || !slices.Equal(want.DNS, m.dns) || !slices.Equal(want.Search, m.search)) {
		if err := writeFileAtomic(m.opts.ResolvConf, resolvConf(want.DNS, want.Search), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", m.opts.ResolvConf, err))
		} else {
			m.dns, m.search, m.dnsWritten = want.DNS, want.Search, true
			m.emit("", "", "dns", "resolvers %v search %v", want.DNS, want.Search)
		}
	}
	return errs
}

// watchLinks follows link changes: when a bound link comes back up, its
// configuration is applied again (the kernel dropped its routes when it went
// down) and its DHCP client confirms the lease at once.
func (m *Manager) watchLinks(ready chan<- struct{}) {
	defer m.wg.Done()
	for first := true; m.ctx.Err() == nil; first = false {
		ch := make(chan netlink.LinkUpdate, 64)
		done := make(chan struct{})
		err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
			Namespace: m.opts.Netns,
			ErrorCallback: func(err error) {
				if m.ctx.Err() == nil { // closing the subscription errs too
					m.emit("", "", "error", "link updates: %v", err)
				}
			},
		})
		if first {
			close(ready)
		}
		if err != nil {
			m.emit("", "", "error", "subscribe to link updates: %v", err)
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(time.Second):
				continue
			}
		}
	loop:
		for {
			select {
			case <-m.ctx.Done():
				close(done)
				go func() {
					for range ch {
					}
				}()
				return
			case u, ok := <-ch:
				if !ok {
					break loop // the subscription failed: subscribe again
				}
				m.linkChanged(u)
			}
		}
		close(done)
	}
}

func (m *Manager) linkChanged(u netlink.LinkUpdate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	idx := u.Attrs().Index
	if u.Header.Type == unix.RTM_DELLINK {
		delete(m.linkUp, idx)
		return
	}
	up, state := linkState(u.Link)
	was, known := m.linkUp[idx]
	m.linkUp[idx] = up
	var f *iface
	for _, x := range m.ifaces {
		if x.nic.Index == idx {
			f = x
		}
	}
	if f == nil || (known && was == up) {
		return
	}
	m.emit(f.nic.Name, f.role, "link", "%s", state)
	if !up {
		return
	}
	for _, err := range m.reconcile(true) {
		m.emit(f.nic.Name, f.role, "error", "%v", err)
	}
	if f.dhcp != nil && known {
		f.dhcp.rebootNow()
	}
}

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

// Close stops DHCP (releasing leases), removes the addresses and routes the
// manager added, and stops watching links. resolv.conf and the hostname stay
// as they are.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	var clients []*dhcpClient
	for _, f := range m.ifaces {
		if f.dhcp != nil {
			clients = append(clients, f.dhcp)
		}
		m.stopDHCP(f)
	}
	m.mu.Unlock()
	// Let the clients send their releases before the addresses go.
	for _, c := range clients {
		select {
		case <-c.done:
		case <-time.After(3 * time.Second):
		}
	}
	m.mu.Lock()
	m.ifaces = map[Role]*iface{}
	errs := m.reconcile(false)
	m.closed = true
	m.mu.Unlock()

	m.cancel()
	m.wg.Wait()
	m.evMu.Lock()
	m.evClosed = true
	close(m.events)
	m.evMu.Unlock()
	<-m.evDone
	m.handle.Close()
	return errors.Join(errs...)
}
