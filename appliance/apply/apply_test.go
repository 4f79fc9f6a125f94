package apply

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/netconf"
)

func mac(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func tunnel(name, peer string, remote ...string) config.Tunnel {
	t := config.Tunnel{Name: name, PeerAddress: peer, IKESettings: config.IKESettings{PSK: config.NewSecret("Xk9-long-enough-psk-for-tests-7Qz")}}
	for _, r := range remote {
		t.RemoteNetworks = append(t.RemoteNetworks, config.MustPrefix(r))
	}
	return t
}

func TestNetSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    config.Config
		want netconf.Spec
	}{
		{
			name: "empty config is the out-of-the-box network",
			c:    config.Config{},
			want: netconf.DefaultSpec(),
		},
		{
			name: "static LAN bound by MAC, WAN on DHCP",
			c: config.Config{
				System: config.System{Hostname: "branch-7", NTPServers: []string{"ntp.example.net"}},
				Interfaces: []config.Interface{
					{Role: config.RoleWAN, MAC: "52:54:00:00:00:01"},
					{Role: config.RoleLAN, MAC: "52:54:00:00:00:02", Mode: config.ModeStatic,
						Address: config.MustPrefix("192.168.50.2/24"), Gateway: config.MustAddr("192.168.50.1"),
						DNS: []config.Addr{config.MustAddr("192.168.50.53")}},
				},
			},
			want: netconf.Spec{Hostname: "branch-7", NTPServers: []string{"ntp.example.net"}, Interfaces: []netconf.IfaceSpec{
				{Role: netconf.RoleWAN, MAC: mac("52:54:00:00:00:01"), DHCP: true},
				{Role: netconf.RoleLAN, MAC: mac("52:54:00:00:00:02"), Addresses: pfx("192.168.50.2/24"),
					Gateway: netip.MustParseAddr("192.168.50.1"), DNS: addrs("192.168.50.53")},
			}},
		},
		{
			name: "static WAN with gateway; LAN left out gets DHCP",
			c: config.Config{Interfaces: []config.Interface{
				{Role: config.RoleWAN, Mode: config.ModeStatic, Address: config.MustPrefix("203.0.113.10/29"), Gateway: config.MustAddr("203.0.113.9")},
			}},
			want: netconf.Spec{Hostname: "tunneler", NTPServers: netconf.DefaultNTPServers(), Interfaces: []netconf.IfaceSpec{
				{Role: netconf.RoleWAN, Addresses: pfx("203.0.113.10/29"), Gateway: netip.MustParseAddr("203.0.113.9")},
				{Role: netconf.RoleLAN, DHCP: true},
			}},
		},
		{
			name: "static IPv6 on a DHCP WAN",
			c: config.Config{Interfaces: []config.Interface{
				{Role: config.RoleWAN, IPv6: config.IPv6Static, IPv6Address: config.MustPrefix("2001:db8:1::10/64"), IPv6Gateway: config.MustAddr("fe80::1")},
			}},
			want: netconf.Spec{Hostname: "tunneler", NTPServers: netconf.DefaultNTPServers(), Interfaces: []netconf.IfaceSpec{
				{Role: netconf.RoleWAN, DHCP: true, IPv6: netconf.IPv6Static, Addresses: pfx("2001:db8:1::10/64"), Gateway6: netip.MustParseAddr("fe80::1")},
				{Role: netconf.RoleLAN, DHCP: true},
			}},
		},
		{
			name: "SLAAC and DHCPv6 need no addresses of their own",
			c: config.Config{Interfaces: []config.Interface{
				{Role: config.RoleWAN, IPv6: config.IPv6DHCPv6},
			}},
			want: netconf.Spec{Hostname: "tunneler", NTPServers: netconf.DefaultNTPServers(), Interfaces: []netconf.IfaceSpec{
				{Role: netconf.RoleWAN, DHCP: true, IPv6: netconf.IPv6DHCP},
				{Role: netconf.RoleLAN, DHCP: true},
			}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NetSpec(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmpOpts); d != "" {
				t.Errorf("NetSpec (-want +got)\n%s", d)
			}
		})
	}
}

func TestNetSpecRefusesWhatNetconfCannotDo(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    config.Config
		want string
	}{
		{"bad MAC", config.Config{Interfaces: []config.Interface{{Role: config.RoleLAN, MAC: "52:54:00"}}}, "MAC"},
		{"static without address", config.Config{Interfaces: []config.Interface{{Role: config.RoleLAN, Mode: config.ModeStatic}}}, "needs an address"},
		{"gateway off the subnet", config.Config{Interfaces: []config.Interface{{Role: config.RoleWAN, Mode: config.ModeStatic,
			Address: config.MustPrefix("10.0.0.2/24"), Gateway: config.MustAddr("10.9.9.9")}}}, "outside"},
	} {
		if _, err := NetSpec(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NetSpec error = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func twoNICs() netconf.Status {
	return netconf.Status{Interfaces: []netconf.IfaceStatus{
		{Name: "eth0", Role: netconf.RoleWAN}, {Name: "eth1", Role: netconf.RoleLAN}, {Name: "eth2"},
	}}
}

func TestFirewallSpec(t *testing.T) {
	routed := tunnel("dc", "198.51.100.20", "10.20.0.0/16")
	routed.Mode, routed.IfID = config.ModeRoute, 7
	hqReqID := ipsec.ReqIDs([]config.Tunnel{tunnel("hq", "192.0.2.1"), routed})["hq"]
	for _, tc := range []struct {
		name  string
		c     config.Config
		st    netconf.Status
		peers []netip.Addr
		want  firewall.Spec
	}{
		{
			name: "setup mode: defaults, two NICs",
			st:   twoNICs(),
			want: firewall.Spec{WAN: []string{"eth0"}, LAN: []string{"eth1"},
				InsideAddr: netip.MustParseAddr("100.64.0.1"), InterceptRange: netip.MustParsePrefix("100.64.0.0/10")},
		},
		{
			name: "one NIC shares management with WAN",
			st:   netconf.Status{Interfaces: []netconf.IfaceStatus{{Name: "ens3", Role: netconf.RoleWAN, Shared: true}}},
			want: firewall.Spec{WAN: []string{"ens3"}, LAN: []string{"ens3"}, SingleNIC: true,
				InsideAddr: netip.MustParseAddr("100.64.0.1"), InterceptRange: netip.MustParsePrefix("100.64.0.0/10")},
		},
		{
			name: "no NIC bound yet",
			st:   netconf.Status{},
			want: firewall.Spec{InsideAddr: netip.MustParseAddr("100.64.0.1"), InterceptRange: netip.MustParsePrefix("100.64.0.0/10")},
		},
		{
			name: "tunnels, peers, mgmt sources and a custom range",
			c: config.Config{
				Admin:   config.Admin{AllowedNetworks: []config.Prefix{config.MustPrefix("192.168.50.7/24"), config.MustPrefix("2001:db8::/64")}},
				Router:  config.Router{InterceptRange: config.MustPrefix("100.96.0.0/12")},
				Tunnels: []config.Tunnel{tunnel("hq", "192.0.2.1", "10.1.0.0/16", "10.2.0.0/16"), routed},
			},
			st:    twoNICs(),
			peers: addrs("198.51.100.20", "192.0.2.1", "::ffff:192.0.2.1"),
			want: firewall.Spec{WAN: []string{"eth0"}, LAN: []string{"eth1"},
				AllowedMgmtSources: pfx("192.168.50.0/24", "2001:db8::/64"),
				Peers:              addrs("192.0.2.1", "198.51.100.20"),
				InsideAddr:         netip.MustParseAddr("100.96.0.1"), InterceptRange: netip.MustParsePrefix("100.96.0.0/12"),
				RemoteNetworks:  pfx("10.1.0.0/16", "10.2.0.0/16"),
				Sources:         []firewall.Source{{ReqID: hqReqID, Networks: pfx("10.1.0.0/16", "10.2.0.0/16")}},
				RouteInterfaces: []firewall.RouteIface{{Name: "xfrm7"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FirewallSpec(tc.c, tc.st, tc.peers)
			if d := cmp.Diff(tc.want, got, cmpOpts); d != "" {
				t.Errorf("FirewallSpec (-want +got)\n%s", d)
			}
			if _, err := firewall.Build(got); err != nil {
				t.Errorf("the firewall refuses the spec: %v", err)
			}
		})
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestResolvePeers(t *testing.T) {
	c := config.Config{Tunnels: []config.Tunnel{
		tunnel("a", "vpn.example.com", "10.1.0.0/16"),
		tunnel("b", "192.0.2.1", "10.2.0.0/16"),
		tunnel("c", "gone.example.com", "10.3.0.0/16"),
		tunnel("d", "192.0.2.1", "10.4.0.0/16"),
	}}
	got, errs := ResolvePeers(context.Background(), fakeResolver{"vpn.example.com": addrs("198.51.100.5", "2001:db8::5")}, c)
	if d := cmp.Diff(addrs("192.0.2.1", "198.51.100.5", "2001:db8::5"), got, cmpOpts); d != "" {
		t.Errorf("peers (-want +got)\n%s", d)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "tunnel c: resolve peer gone.example.com") {
		t.Errorf("errors = %v, want one for tunnel c", errs)
	}
}

type fakeNet struct {
	applied []netconf.Spec
	status  netconf.Status
	err     error
}

func (f *fakeNet) Apply(ctx context.Context, s netconf.Spec) error {
	f.applied = append(f.applied, s)
	return f.err
}
func (f *fakeNet) Status() (netconf.Status, error) { return f.status, nil }

type fakeFW struct{ applied []firewall.Spec }

func (f *fakeFW) Apply(s firewall.Spec) error { f.applied = append(f.applied, s); return nil }

func TestApplierAppliesNetworkThenFirewallAndRefreshes(t *testing.T) {
	n := &fakeNet{status: netconf.Status{Interfaces: []netconf.IfaceStatus{{Name: "eth0", Role: netconf.RoleWAN, Shared: true}}}}
	fw := &fakeFW{}
	res := fakeResolver{}
	var logs []string
	a := &Applier{Net: n, Firewall: fw, Resolver: res, Logf: func(f string, args ...any) { logs = append(logs, f) }}
	if err := a.Refresh(context.Background()); err != nil || len(fw.applied) != 0 {
		t.Fatalf("Refresh before any config: %v, %d rulesets", err, len(fw.applied))
	}
	c := config.Config{Tunnels: []config.Tunnel{tunnel("hq", "vpn.example.com", "10.1.0.0/16")}}
	if err := a.Apply(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if len(n.applied) != 1 || len(fw.applied) != 1 {
		t.Fatalf("after Apply: %d network specs, %d rulesets; want 1 and 1", len(n.applied), len(fw.applied))
	}
	if !fw.applied[0].SingleNIC || len(fw.applied[0].Peers) != 0 {
		t.Errorf("first ruleset = %+v; want single NIC, no peer resolved yet", fw.applied[0])
	}
	// Nothing changed: no new ruleset.
	a.Refresh(context.Background())
	if len(fw.applied) != 1 {
		t.Errorf("Refresh with nothing new installed a ruleset")
	}
	// A second NIC is bound and DNS now resolves the peer.
	n.status = twoNICs()
	res["vpn.example.com"] = addrs("198.51.100.5")
	a.Refresh(context.Background())
	if len(fw.applied) != 2 {
		t.Fatalf("Refresh after a change installed %d rulesets, want 2", len(fw.applied))
	}
	last := fw.applied[1]
	if last.SingleNIC || last.LAN[0] != "eth1" || len(last.Peers) != 1 {
		t.Errorf("refreshed ruleset = %+v", last)
	}
	if n := strings.Count(strings.Join(logs, "\n"), "IKE from it is refused"); n != 1 {
		t.Errorf("the unresolved peer was reported %d times, want once", n)
	}
}

func TestApplierInstallsFirewallEvenWhenNetworkFails(t *testing.T) {
	n := &fakeNet{err: errors.New("netlink says no")}
	fw := &fakeFW{}
	a := &Applier{Net: n, Firewall: fw}
	err := a.Apply(context.Background(), config.Config{})
	if err == nil || !strings.Contains(err.Error(), "network: netlink says no") {
		t.Errorf("Apply error = %v", err)
	}
	if len(fw.applied) != 1 {
		t.Errorf("firewall not installed after a network failure")
	}
}

// A site admits IKE from every remote (standbys keep their SAs up) and
// lists its remote networks once, whichever remote is active.
func TestSitePeersAndNetworks(t *testing.T) {
	c := config.Config{
		Sites: []config.Site{{Name: "hq", RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.9.0.0/24"))},
			Remotes: []config.Remote{{PeerAddress: "192.0.2.2", Profile: "p"}, {PeerAddress: "192.0.2.3", Profile: "p"}}}},
		Profiles: []config.Profile{{Name: "p"}},
	}
	peers, errs := ResolvePeers(context.Background(), nil, c)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if d := cmp.Diff(addrs("192.0.2.2", "192.0.2.3"), peers, cmpOpts); d != "" {
		t.Errorf("peers (-want +got)\n%s", d)
	}
	spec := FirewallSpec(c, netconf.Status{}, peers)
	if d := cmp.Diff([]netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")}, spec.RemoteNetworks, cmpOpts); d != "" {
		t.Errorf("remote networks (-want +got)\n%s", d)
	}
	// Both remotes' SAs carry the site's one reqid: that is the source's.
	reqids := ipsec.ReqIDs(c.AllTunnels())
	r0, r1 := reqids[config.RemoteTunnelName("hq", 0)], reqids[config.RemoteTunnelName("hq", 1)]
	if r0 == 0 || r0 != r1 {
		t.Fatalf("the remotes' reqids are %d and %d, want one shared", r0, r1)
	}
	want := []firewall.Source{{ReqID: r0, Networks: pfx("10.9.0.0/24")}}
	if d := cmp.Diff(want, spec.Sources, cmpOpts); d != "" {
		t.Errorf("sources (-want +got)\n%s", d)
	}
}
