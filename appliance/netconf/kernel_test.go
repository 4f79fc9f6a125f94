package netconf

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// rig is a box namespace whose NICs are veths into a "site" namespace where
// DHCP servers run. Nothing leaves the two namespaces.
type rig struct {
	t        *testing.T
	box, net *testenv.Netns
	nics     []string // in the box, in PCI order
	peers    []string // their ends in the site namespace
	dir      string
	m        *Manager

	mu       sync.Mutex
	events   []Event
	hostname string
	clock    []time.Time
}

func newRig(t *testing.T, nNICs int) *rig {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")
	r := &rig{t: t, dir: t.TempDir()}
	r.box = testenv.NewNetns(t, "ncbox")
	r.net = testenv.NewNetns(t, "ncsite")
	// Veths are made in the host namespace before moving: unique names.
	tag := rand.IntN(100000)
	for i := range nNICs {
		r.nics = append(r.nics, fmt.Sprintf("nc%05d%c", tag, 'a'+i))
		r.peers = append(r.peers, fmt.Sprintf("ns%05d%c", tag, 'a'+i))
		testenv.Veth(t, r.box, r.nics[i], r.net, r.peers[i])
	}
	return r
}

func (r *rig) options() Options {
	h := r.box.Handle()
	return Options{
		Netns: &h,
		Physical: func(name string) (string, bool) {
			i := slices.Index(r.nics, name)
			if i < 0 {
				return "", false
			}
			return fmt.Sprintf("/sys/devices/pci0000:00/0000:00:%02x.0", 3+i), true
		},
		ResolvConf:    filepath.Join(r.dir, "resolv.conf"),
		HostnameFile:  filepath.Join(r.dir, "hostname"),
		SetHostname:   func(h string) error { r.mu.Lock(); r.hostname = h; r.mu.Unlock(); return nil },
		SetClock:      func(t time.Time) error { r.mu.Lock(); r.clock = append(r.clock, t); r.mu.Unlock(); return nil },
		FallbackAfter: 1500 * time.Millisecond,
		DHCPTimeout:   300 * time.Millisecond,
		DHCPRetries:   2,
		NTPTimeout:    time.Second,
		OnEvent: func(e Event) {
			r.t.Log(e)
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
		},
	}
}

func (r *rig) start(o Options) *Manager {
	r.t.Helper()
	m, err := New(o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.m = m
	r.t.Cleanup(func() { m.Close() })
	return m
}

// settle waits until no event has arrived for a while (they are delivered
// asynchronously) and returns how many there were.
func (r *rig) settle() int {
	last := -1
	for {
		r.mu.Lock()
		n := len(r.events)
		r.mu.Unlock()
		if n == last {
			return n
		}
		last = n
		time.Sleep(300 * time.Millisecond)
	}
}

func (r *rig) eventCount(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// boxIP runs ip in the box namespace.
func (r *rig) boxIP(args ...string) string { return r.box.Run(r.t, "ip", args...) }

func (r *rig) hasAddr(nic, prefix string) bool {
	return strings.Contains(r.boxIP("-o", "addr", "show", "dev", nic), " "+prefix+" ")
}

func (r *rig) defaultRoute() string {
	return strings.TrimSpace(r.boxIP("-4", "route", "show", "default"))
}

func (r *rig) iface(name string) IfaceStatus {
	r.t.Helper()
	st, err := r.m.Status()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, i := range st.Interfaces {
		if i.Name == name {
			return i
		}
	}
	r.t.Fatalf("no %s in status %+v", name, st)
	return IfaceStatus{}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dnsmasq serves DHCP on the site end of NIC i from 10.77.i.0/24, with
// 10.77.i.1 as router and 10.77.i.53 as DNS server. It stops with the test
// or when the returned function is called.
func (r *rig) dnsmasq(i int, extra ...string) (stop func()) {
	t := r.t
	t.Helper()
	testenv.RequireCommand(t, "dnsmasq")
	net := fmt.Sprintf("10.77.%d", i)
	r.net.Run(t, "ip", "addr", "replace", net+".1/24", "dev", r.peers[i])
	args := append([]string{
		"--keep-in-foreground", "--conf-file=/dev/null", "--log-facility=-",
		"--port=0", "--pid-file=", "--user=root", "--group=root",
		"--interface=" + r.peers[i], "--bind-interfaces", "--except-interface=lo",
		"--dhcp-authoritative", "--log-dhcp", "--no-ping",
		"--dhcp-leasefile=" + filepath.Join(r.dir, fmt.Sprintf("leases%d", i)),
		"--dhcp-range=" + net + ".100," + net + ".150,255.255.255.0,2m",
		"--dhcp-option=option:router," + net + ".1",
		"--dhcp-option=option:dns-server," + net + ".53",
	}, extra...)
	cmd := r.net.Command("dnsmasq", args...)
	logf, err := os.Create(filepath.Join(r.dir, fmt.Sprintf("dnsmasq%d.log", i)))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dnsmasq: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
			logf.Close()
			if b, _ := os.ReadFile(logf.Name()); len(b) > 0 {
				t.Logf("dnsmasq on %s:\n%s", r.peers[i], b)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestKernelLoopbackUp: lo down, as the box's is at boot; the manager brings it up, so the box reaches its own LAN address
// (the trial boot's health gate fetches its own web UI there).
func TestKernelLoopbackUp(t *testing.T) {
	r := newRig(t, 1)
	r.box.Run(t, "ip", "link", "set", "lo", "down") // testenv brought it up
	m := r.start(r.options())
	spec := Spec{Interfaces: []IfaceSpec{{Role: RoleWAN, Addresses: []netip.Prefix{netip.MustParsePrefix("192.168.51.1/24")}}}}
	if err := m.Apply(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if out := r.box.Run(t, "ip", "-o", "link", "show", "lo"); !strings.Contains(out, ",UP") {
		t.Fatalf("lo is not up after the manager started: %s", out)
	}
	err := r.box.Do(func() error {
		ln, err := net.Listen("tcp", "192.168.51.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
		if err != nil {
			return fmt.Errorf("the box cannot reach its own address: %w", err)
		}
		return c.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKernelDHCPWAN(t *testing.T) {
	r := newRig(t, 2)
	r.dnsmasq(0)
	m := r.start(r.options())
	spec := Spec{Hostname: "box1", Interfaces: []IfaceSpec{
		{Role: RoleWAN, DHCP: true},
		{Role: RoleLAN, Addresses: []netip.Prefix{netip.MustParsePrefix("192.168.50.1/24")}},
	}}
	if err := m.Apply(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	wan := r.nics[0]
	waitFor(t, 10*time.Second, "a WAN lease", func() bool { return r.iface(wan).Lease != nil })
	st := r.iface(wan)
	if st.Role != RoleWAN || !st.DHCP || st.Shared {
		t.Errorf("WAN status %+v", st)
	}
	got := st.Lease.Address
	if !netip.MustParsePrefix("10.77.0.0/24").Contains(got.Addr()) || got.Bits() != 24 {
		t.Fatalf("lease address %v not from the dnsmasq range", got)
	}
	if !r.hasAddr(wan, got.String()) {
		t.Fatalf("lease address %v not on %s:\n%s", got, wan, r.boxIP("addr"))
	}
	if want := "default via 10.77.0.1 dev " + wan + " proto dhcp"; !strings.HasPrefix(r.defaultRoute(), want) {
		t.Fatalf("default route %q, want %q", r.defaultRoute(), want)
	}
	if st.Gateway != netip.MustParseAddr("10.77.0.1") {
		t.Errorf("status gateway %v", st.Gateway)
	}
	resolv, _ := os.ReadFile(filepath.Join(r.dir, "resolv.conf"))
	if !strings.Contains(string(resolv), "nameserver 10.77.0.53\n") {
		t.Fatalf("resolv.conf lacks the DHCP DNS server:\n%s", resolv)
	}
	// LAN is static: no fallback, no default route through it.
	lan := r.iface(r.nics[1])
	if lan.Role != RoleLAN || lan.Fallback || !slices.Contains(lan.Addresses, netip.MustParsePrefix("192.168.50.1/24")) {
		t.Errorf("LAN status %+v", lan)
	}
	r.mu.Lock()
	if h, _ := os.ReadFile(filepath.Join(r.dir, "hostname")); string(h) != "box1\n" || r.hostname != "box1" {
		t.Errorf("hostname file %q, sethostname %q", h, r.hostname)
	}
	r.mu.Unlock()

	// The link going down and up re-runs DHCP and restores the route the
	// kernel dropped.
	leases := r.eventCount("dhcp")
	r.boxIP("link", "set", wan, "down")
	waitFor(t, 5*time.Second, "the default route to go with the link", func() bool { return r.defaultRoute() == "" })
	waitFor(t, 5*time.Second, "status to say down", func() bool { return !r.iface(wan).Up })
	r.boxIP("link", "set", wan, "up")
	waitFor(t, 10*time.Second, "the default route back", func() bool { return strings.Contains(r.defaultRoute(), "10.77.0.1") })
	waitFor(t, 10*time.Second, "DHCP to run again", func() bool { return r.eventCount("dhcp") > leases })
	if a := r.iface(wan).Lease.Address; a != got {
		t.Errorf("address changed over a link bounce: %v -> %v", got, a)
	}

	// Close releases the lease and removes what it added.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if r.hasAddr(wan, got.String()) || r.defaultRoute() != "" {
		t.Fatalf("Close left configuration behind:\n%s\n%s", r.boxIP("addr"), r.defaultRoute())
	}
	waitFor(t, 5*time.Second, "dnsmasq to forget the lease", func() bool {
		b, _ := os.ReadFile(filepath.Join(r.dir, "leases0"))
		return !strings.Contains(string(b), got.Addr().String())
	})
}

func TestKernelFallbackUntilLease(t *testing.T) {
	r := newRig(t, 2)
	m := r.start(r.options())
	if err := m.Apply(context.Background(), defaultSpecNoNTP()); err != nil {
		t.Fatal(err)
	}
	lan, wan := r.nics[1], r.nics[0]
	waitFor(t, 5*time.Second, "the fallback address on LAN", func() bool { return r.hasAddr(lan, FallbackAddress) })
	if st := r.iface(lan); !st.Fallback || st.Lease != nil {
		t.Errorf("LAN status %+v", st)
	}
	if r.hasAddr(wan, FallbackAddress) {
		t.Errorf("WAN took the fallback address though there is a LAN")
	}
	// A DHCP server appears on LAN: its lease replaces the fallback.
	r.dnsmasq(1)
	waitFor(t, 40*time.Second, "a LAN lease", func() bool { return r.iface(lan).Lease != nil })
	st := r.iface(lan)
	waitFor(t, 2*time.Second, "the fallback to go", func() bool { return !r.hasAddr(lan, FallbackAddress) })
	if st.Fallback || !r.hasAddr(lan, st.Lease.Address.String()) {
		t.Errorf("LAN status %+v\n%s", st, r.boxIP("addr", "show", "dev", lan))
	}
	// The LAN router is not a default route.
	if d := r.defaultRoute(); d != "" {
		t.Errorf("default route %q from a LAN lease", d)
	}
}

func TestKernelSingleNICSharesWAN(t *testing.T) {
	r := newRig(t, 1)
	m := r.start(r.options())
	if err := m.Apply(context.Background(), defaultSpecNoNTP()); err != nil {
		t.Fatal(err)
	}
	wan := r.nics[0]
	waitFor(t, 5*time.Second, "the fallback address on the only NIC", func() bool { return r.hasAddr(wan, FallbackAddress) })
	st, err := m.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Interfaces) != 1 || st.Interfaces[0].Role != RoleWAN || !st.Interfaces[0].Shared {
		t.Fatalf("status %+v", st)
	}
	if len(st.Warnings) != 1 {
		t.Errorf("warnings %q, want one about LAN", st.Warnings)
	}
}

func TestKernelStaticAndReapply(t *testing.T) {
	r := newRig(t, 2)
	m := r.start(r.options())
	wan, lan := r.nics[0], r.nics[1]
	// Someone else's address on WAN must survive every Apply.
	r.boxIP("addr", "add", "203.0.113.77/32", "dev", wan)
	spec := Spec{
		Hostname: "static-box",
		Interfaces: []IfaceSpec{
			{Role: RoleLAN, Addresses: []netip.Prefix{pfx("192.168.60.1/24")}, DNS: []netip.Addr{addr("192.168.60.53")}},
			{Role: RoleWAN, Addresses: []netip.Prefix{pfx("198.51.100.2/29")}, Gateway: addr("198.51.100.1"),
				DNS: []netip.Addr{addr("198.51.100.53")}},
		},
	}
	if err := m.Apply(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if !r.hasAddr(wan, "198.51.100.2/29") || !r.hasAddr(lan, "192.168.60.1/24") {
		t.Fatalf("static addresses missing:\n%s", r.boxIP("addr"))
	}
	if want := "default via 198.51.100.1 dev " + wan + " proto static"; !strings.HasPrefix(r.defaultRoute(), want) {
		t.Fatalf("default route %q, want %q", r.defaultRoute(), want)
	}
	resolv, _ := os.ReadFile(filepath.Join(r.dir, "resolv.conf"))
	if !strings.Contains(string(resolv), "nameserver 198.51.100.53\nnameserver 192.168.60.53\n") {
		t.Errorf("resolv.conf: WAN's DNS first, then LAN's:\n%s", resolv)
	}

	// Same spec again: nothing changes.
	before := r.boxIP("addr") + r.boxIP("route")
	nEvents := r.settle()
	if err := m.Apply(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if after := r.boxIP("addr") + r.boxIP("route"); after != before {
		t.Errorf("re-applying changed the kernel:\n%s\nvs\n%s", before, after)
	}
	if n := r.settle(); n != nEvents {
		t.Errorf("re-applying produced %d events", n-nEvents)
	}

	// A new WAN address and gateway: the old ones go, the foreign one stays.
	spec2 := cloneSpec(spec)
	spec2.Interfaces[1].Addresses = []netip.Prefix{pfx("198.51.100.10/29")}
	spec2.Interfaces[1].Gateway = addr("198.51.100.9")
	if err := m.Apply(context.Background(), spec2); err != nil {
		t.Fatal(err)
	}
	if r.hasAddr(wan, "198.51.100.2/29") || !r.hasAddr(wan, "198.51.100.10/29") || !r.hasAddr(wan, "203.0.113.77/32") {
		t.Fatalf("after re-apply:\n%s", r.boxIP("addr", "show", "dev", wan))
	}
	if d := r.defaultRoute(); !strings.HasPrefix(d, "default via 198.51.100.9 ") {
		t.Fatalf("default route %q", d)
	}

	// Link down/up: the kernel drops the default route; netconf restores it.
	r.boxIP("link", "set", wan, "down")
	waitFor(t, 5*time.Second, "the default route to go", func() bool { return r.defaultRoute() == "" })
	r.boxIP("link", "set", wan, "up")
	waitFor(t, 5*time.Second, "the default route back", func() bool { return strings.Contains(r.defaultRoute(), "198.51.100.9") })

	// Swapping roles by MAC moves the configuration to the other NIC.
	wanMAC := r.iface(wan).MAC
	lanMAC := r.iface(lan).MAC
	spec3 := cloneSpec(spec2)
	spec3.Interfaces[0].MAC = wanMAC // LAN on the old WAN NIC
	spec3.Interfaces[1].MAC = lanMAC
	if err := m.Apply(context.Background(), spec3); err != nil {
		t.Fatal(err)
	}
	if !r.hasAddr(lan, "198.51.100.10/29") || !r.hasAddr(wan, "192.168.60.1/24") ||
		r.hasAddr(wan, "198.51.100.10/29") || r.hasAddr(lan, "192.168.60.1/24") {
		t.Fatalf("after swapping roles:\n%s", r.boxIP("addr"))
	}
	if d := r.defaultRoute(); !strings.Contains(d, "dev "+lan) {
		t.Fatalf("default route %q not via the new WAN NIC", d)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !r.hasAddr(wan, "203.0.113.77/32") || r.hasAddr(lan, "198.51.100.10/29") {
		t.Fatalf("after Close:\n%s", r.boxIP("addr"))
	}
}

// ntpServer answers NTP client requests on loopback in ns with its clock
// running offset ahead of ours.
func ntpServer(t *testing.T, ns *testenv.Netns, offset time.Duration) string {
	t.Helper()
	var conn *net.UDPConn
	if err := ns.Do(func() error {
		var err error
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ntpTime := func(tm time.Time) uint64 {
		secs := uint64(tm.Unix() + 2208988800)
		frac := uint64(tm.Nanosecond()) << 32 / 1e9
		return secs<<32 | frac
	}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			recv := time.Now().Add(offset)
			resp := make([]byte, 48)
			resp[0] = 0<<6 | 4<<3 | 4 // no leap warning, version 4, server
			resp[1] = 1               // stratum 1
			resp[2] = buf[2]          // poll
			resp[3] = 0xec            // precision ~ 2^-20 s
			copy(resp[12:16], "TEST")
			binary.BigEndian.PutUint64(resp[16:], ntpTime(recv.Add(-time.Minute))) // reference
			copy(resp[24:32], buf[40:48])                                          // originate = client's transmit
			binary.BigEndian.PutUint64(resp[32:], ntpTime(recv))
			binary.BigEndian.PutUint64(resp[40:], ntpTime(time.Now().Add(offset)))
			conn.WriteToUDP(resp, from)
		}
	}()
	return conn.LocalAddr().String()
}

func TestKernelNTP(t *testing.T) {
	r := newRig(t, 0)
	far := ntpServer(t, r.box, time.Hour)
	near := ntpServer(t, r.box, 0)
	m := r.start(r.options())
	// An unanswered server first: the next one is asked.
	dead := "127.0.0.1:9"
	if err := m.Apply(context.Background(), Spec{NTPServers: []string{dead, far}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the clock to be stepped", func() bool { return len(r.clockSets()) > 0 })
	if set := r.clockSets()[0]; time.Until(set)-time.Hour > 5*time.Second || time.Until(set)-time.Hour < -5*time.Second {
		t.Fatalf("clock set to %v, want about an hour ahead", set)
	}
	st, _ := m.Status()
	if st.NTP.Server != far || !st.NTP.Stepped || st.NTP.Offset < 59*time.Minute {
		t.Fatalf("NTP status %+v", st.NTP)
	}
	// A server that agrees with us: offset reported, clock left alone.
	if err := m.Apply(context.Background(), Spec{NTPServers: []string{near}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a check against the second server", func() bool {
		st, _ := m.Status()
		return st.NTP.Server == near
	})
	st, _ = m.Status()
	if st.NTP.Stepped || st.NTP.Err != "" || st.NTP.Offset > time.Second || st.NTP.Offset < -time.Second {
		t.Fatalf("NTP status %+v", st.NTP)
	}
	if n := len(r.clockSets()); n != 1 {
		t.Fatalf("clock set %d times", n)
	}
}

func (r *rig) clockSets() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.clock)
}

// defaultSpecNoNTP is DefaultSpec without the public NTP pool: tests never
// send traffic beyond their namespaces.
func defaultSpecNoNTP() Spec {
	s := DefaultSpec()
	s.NTPServers = nil
	return s
}

func TestKernelDHCPRenewThenStatic(t *testing.T) {
	r := newRig(t, 1)
	// A 2-minute lease (dnsmasq's minimum) with T1 at 2 s and T2 at 4 s.
	r.dnsmasq(0, "--dhcp-option=option:T1,2", "--dhcp-option=option:T2,4")
	m := r.start(r.options())
	spec := Spec{Interfaces: []IfaceSpec{{Role: RoleWAN, DHCP: true}}}
	if err := m.Apply(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	wan := r.nics[0]
	waitFor(t, 10*time.Second, "a lease", func() bool { return r.iface(wan).Lease != nil })
	first := *r.iface(wan).Lease
	// dnsmasq rounds T1 up by a second or so.
	if d := first.Renew.Sub(first.Obtained); d < time.Second || d > 4*time.Second {
		t.Fatalf("T1 %v after the ACK, want about 2s (lease %+v)", d, first)
	}
	waitFor(t, 10*time.Second, "a renewal", func() bool {
		l := r.iface(wan).Lease
		return l != nil && l.Obtained.After(first.Obtained)
	})
	if l := r.iface(wan).Lease; l.Address != first.Address {
		t.Fatalf("renewal changed the address: %v -> %v", first.Address, l.Address)
	}
	// Switching to static releases the lease and removes its address and
	// route; the static ones replace them.
	static := Spec{Interfaces: []IfaceSpec{{Role: RoleWAN,
		Addresses: []netip.Prefix{pfx("10.77.0.7/24")}, Gateway: addr("10.77.0.1")}}}
	if err := m.Apply(context.Background(), static); err != nil {
		t.Fatal(err)
	}
	if r.hasAddr(wan, first.Address.String()) || !r.hasAddr(wan, "10.77.0.7/24") {
		t.Fatalf("after switching to static:\n%s", r.boxIP("addr", "show", "dev", wan))
	}
	if d := r.defaultRoute(); !strings.HasPrefix(d, "default via 10.77.0.1 dev "+wan+" proto static") {
		t.Fatalf("default route %q", d)
	}
	if st := r.iface(wan); st.DHCP || st.Lease != nil {
		t.Fatalf("status still shows DHCP: %+v", st)
	}
	waitFor(t, 5*time.Second, "dnsmasq to forget the lease", func() bool {
		b, _ := os.ReadFile(filepath.Join(r.dir, "leases0"))
		return !strings.Contains(string(b), first.Address.Addr().String())
	})
}
