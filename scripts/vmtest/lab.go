package vmtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// Lab is the network a test builds around its VMs: one namespace holding
// bridges (wan, lan, ...) that qemu's taps and the test's own hosts (other
// namespaces joined by veth pairs) plug into. Nothing in it can reach any
// address outside the namespaces the test made.
type Lab struct {
	NS      *testenv.Netns
	bridges map[string]bool
	seq     atomic.Int32
}

// NewLab makes the lab namespace; it is removed when the test ends.
func NewLab(t testing.TB) *Lab {
	t.Helper()
	return &Lab{NS: testenv.NewNetns(t, "lab"), bridges: map[string]bool{}}
}

// Bridge makes (once) a bridge in the lab, STP off and no forward delay,
// so a port forwards the moment it is up.
func (l *Lab) Bridge(t testing.TB, name string) string {
	t.Helper()
	if !l.bridges[name] {
		l.NS.Run(t, "ip", "link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0")
		l.NS.Run(t, "ip", "link", "set", name, "up")
		l.bridges[name] = true
	}
	return name
}

func (l *Lab) addTap(t testing.TB, bridge string) string {
	l.Bridge(t, bridge)
	tap := fmt.Sprintf("tap%d", l.seq.Add(1))
	l.NS.Run(t, "ip", "tuntap", "add", tap, "mode", "tap")
	l.NS.Run(t, "ip", "link", "set", tap, "master", bridge, "up")
	return tap
}

// Host is a test-owned machine on a lab bridge: a namespace with one
// interface, eth0, plugged into the bridge.
type Host struct {
	*testenv.Netns
	Addr string
}

// AddHost makes a host namespace on bridge with address addr (CIDR; empty
// for none, e.g. before a DHCP test).
func (l *Lab) AddHost(t testing.TB, bridge, name, addr string) *Host {
	t.Helper()
	l.Bridge(t, bridge)
	ns := testenv.NewNetns(t, name)
	n := l.seq.Add(1)
	outer := fmt.Sprintf("vh%d", n)
	testenv.Run(t, "ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns.Name)
	testenv.Run(t, "ip", "link", "set", outer, "netns", l.NS.Name)
	l.NS.Run(t, "ip", "link", "set", outer, "master", bridge, "up")
	ns.Run(t, "ip", "link", "set", "eth0", "up")
	if addr != "" {
		ns.Run(t, "ip", "addr", "add", addr, "dev", "eth0")
	}
	return &Host{Netns: ns, Addr: addr}
}

// HTTPClient returns a client whose connections are made from inside the
// host's namespace, to reach the VM's management side. It accepts the box's
// self-made certificate: tests check its fingerprint where that matters.
func (h *Host) HTTPClient() *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := h.Do(func() error {
			var d net.Dialer
			var err error
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext:     dial,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
