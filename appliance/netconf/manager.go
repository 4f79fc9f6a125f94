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
	if err := upLoopback(h); err != nil {
		h.Close()
		return nil, err
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

// upLoopback brings lo up: the kernel puts 127.0.0.1 and ::1 on it only
// then, and while it is down every packet the box sends to one of its own
// addresses (its web UI checked by a trial boot's health gate, the
// router's listeners on 127.0.0.1) is dropped without an error.
func upLoopback(k kernel) error {
	links, err := retryDump(k.LinkList)
	if err != nil {
		return fmt.Errorf("list links to find lo: %w", err)
	}
	for _, l := range links {
		if l.Attrs().Flags&net.FlagLoopback == 0 || l.Attrs().Flags&net.FlagUp != 0 {
			continue
		}
		if err := k.LinkSetUp(l); err != nil {
			return fmt.Errorf("set %s up: %w", l.Attrs().Name, err)
		}
	}
	return nil
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
