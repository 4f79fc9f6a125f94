package firewall

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
)

func baseSpec() Spec {
	return Spec{
		WAN:             []string{"wan0"},
		LAN:             []string{"lan0"},
		Peers:           []netip.Addr{addr("198.51.100.7"), addr("2001:db8::7"), addr("198.51.100.7")},
		InsideAddr:      addr("100.64.0.1"),
		RouteInterfaces: []RouteIface{{Name: "ipsec0"}},
	}
}

func mustBuild(t *testing.T, s Spec) *Ruleset {
	t.Helper()
	rs, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestBuildInput(t *testing.T) {
	rs := mustBuild(t, baseSpec())
	want := []string{
		`iif "lo" counter name in_loopback accept`,
		`ct state invalid counter name in_invalid drop`,
		`meta secpath exists goto ipsec_in`,
		`iifname @xfrm_ifs goto ipsec_in`,
		`iifname @lan_ifs meta nfproto ipv4 icmp type echo-request limit rate over 10/second burst 20 packets counter name in_lan_ping_drop drop`,
		`iifname @lan_ifs meta nfproto ipv6 icmpv6 type echo-request limit rate over 10/second burst 20 packets counter name in_lan_ping_drop drop`,
		`ct state established,related counter name in_established accept`,
		`iifname @wan_ifs jump wan_in`,
		`iifname @lan_ifs jump lan_in`,
		`meta nfproto ipv4 meta l4proto udp udp sport 67 udp dport 68 counter name in_dhcp accept`,
		`meta nfproto ipv6 ip6 saddr fe80::/10 meta l4proto udp udp sport 547 udp dport 546 counter name in_dhcp accept`,
		`meta nfproto ipv6 ip6 hoplimit 255 icmpv6 type nd-router-advert counter name in_icmpv6_nd accept`,
		`meta nfproto ipv6 ip6 hoplimit 255 icmpv6 type nd-neighbor-solicit counter name in_icmpv6_nd accept`,
		`meta nfproto ipv6 ip6 hoplimit 255 icmpv6 type nd-neighbor-advert counter name in_icmpv6_nd accept`,
		`meta nfproto ipv6 ip6 saddr fe80::/10 icmpv6 type mld-listener-query counter name in_icmpv6_mld accept`,
		`counter name in_drop drop`,
	}
	if diff := cmp.Diff(want, rs.Rules(chainInput)); diff != "" {
		t.Errorf("input (-want +got):\n%s", diff)
	}
	wantWAN := []string{
		`meta nfproto ipv4 ip saddr @peers4 meta l4proto udp udp dport @ike_ports counter name in_ike accept`,
		`meta nfproto ipv4 ip saddr @peers4 meta l4proto esp counter name in_esp accept`,
		`meta nfproto ipv6 ip6 saddr @peers6 meta l4proto udp udp dport @ike_ports counter name in_ike accept`,
		`meta nfproto ipv6 ip6 saddr @peers6 meta l4proto esp counter name in_esp accept`,
	}
	if diff := cmp.Diff(wantWAN, rs.Rules(chainWANIn)); diff != "" {
		t.Errorf("wan_in (-want +got):\n%s", diff)
	}
	wantIPsec := []string{
		`meta nfproto ipv4 ip daddr 100.64.0.1 icmp type echo-request limit rate over 10/second burst 20 packets counter name in_ipsec_ping_drop drop`,
		`meta nfproto ipv4 ip daddr 100.64.0.1 icmp type echo-request counter name in_ipsec_ping accept`,
		`ct state established,related counter name in_ipsec_established accept`,
		`meta mark & 0x00000001 == 0x00000001 counter name in_ipsec_intercept accept`,
		`meta nfproto ipv4 ip daddr 100.64.0.1 meta l4proto udp udp dport 53 counter name in_ipsec_dns accept`,
		`meta nfproto ipv4 ip daddr 100.64.0.1 meta l4proto tcp tcp dport 53 counter name in_ipsec_dns accept`,
		`counter name in_ipsec_drop drop`,
	}
	if diff := cmp.Diff(wantIPsec, rs.Rules(chainIPsecIn)); diff != "" {
		t.Errorf("ipsec_in (-want +got):\n%s", diff)
	}
}

// TestBuildPeersInSets: the number of rules does not depend on the number
// of peers; only the sets grow.
func TestBuildPeersInSets(t *testing.T) {
	s := baseSpec()
	one := mustBuild(t, s)
	for i := 0; i < 10000; i++ {
		s.Peers = append(s.Peers, netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}))
	}
	many := mustBuild(t, s)
	if len(one.rules) != len(many.rules) {
		t.Errorf("%d rules with 2 peers, %d with 10002", len(one.rules), len(many.rules))
	}
	p4, _ := one.Set(setPeers4)
	p6, _ := one.Set(setPeers6)
	if diff := cmp.Diff([]string{"198.51.100.7"}, p4); diff != "" {
		t.Errorf("peers4 (duplicates dropped): %s", diff)
	}
	if diff := cmp.Diff([]string{"2001:db8::7"}, p6); diff != "" {
		t.Errorf("peers6: %s", diff)
	}
	if got, _ := many.Set(setPeers4); len(got) != 10001 {
		t.Errorf("peers4 has %d elements, want 10001", len(got))
	}
}

func TestBuildLAN(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(*Spec)
		want []string
	}{
		{"two NICs, any source", func(*Spec) {}, []string{
			`meta l4proto tcp tcp dport @mgmt_ports counter name in_mgmt accept`,
			`meta nfproto ipv4 icmp type echo-request counter name in_lan_ping accept`,
			`meta nfproto ipv6 icmpv6 type echo-request counter name in_lan_ping accept`,
		}},
		{"single NIC with sources", func(s *Spec) {
			s.SingleNIC, s.LAN = true, s.WAN
			s.AllowedMgmtSources = []netip.Prefix{prefix("192.168.1.0/24")}
		}, []string{
			`meta nfproto ipv4 ip saddr @peers4 return`,
			`meta nfproto ipv6 ip6 saddr @peers6 return`,
			`meta nfproto ipv4 ip saddr != @mgmt4 return`,
			`meta nfproto ipv6 ip6 saddr != @mgmt6 return`,
			`meta l4proto tcp tcp dport @mgmt_ports counter name in_mgmt accept`,
			`meta nfproto ipv4 icmp type echo-request counter name in_lan_ping accept`,
			`meta nfproto ipv6 icmpv6 type echo-request counter name in_lan_ping accept`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSpec()
			tc.spec(&s)
			if diff := cmp.Diff(tc.want, mustBuild(t, s).Rules(chainLANIn)); diff != "" {
				t.Errorf("lan_in (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildMgmtPortsAndSets(t *testing.T) {
	s := baseSpec()
	s.MetricsPort = 9100
	s.AllowedMgmtSources = []netip.Prefix{prefix("10.0.0.0/8"), prefix("10.1.2.0/24"), prefix("192.168.1.7/24"), prefix("::/0")}
	rs := mustBuild(t, s)
	ports, _ := rs.Set(setMgmtPorts)
	if diff := cmp.Diff([]string{"80", "443", "9100"}, ports); diff != "" {
		t.Errorf("mgmt_ports: %s", diff)
	}
	m4, _ := rs.Set(setMgmt4)
	if diff := cmp.Diff([]string{"10.0.0.0/8", "192.168.1.0/24"}, m4); diff != "" {
		t.Errorf("mgmt4 (contained prefixes merged): %s", diff)
	}
	m6, _ := rs.Set(setMgmt6)
	if diff := cmp.Diff([]string{"::/0"}, m6); diff != "" {
		t.Errorf("mgmt6: %s", diff)
	}
}

func TestBuildMSS(t *testing.T) {
	s := baseSpec()
	s.MSS = 1300
	s.RouteInterfaces = []RouteIface{{Name: "ipsec0", MTU: 1400}, {Name: "ipsec1"}}
	rs := mustBuild(t, s)
	wantIn := []string{
		`iifname "ipsec0" tcp option maxseg size > 1360 tcp option maxseg size set 1360 counter name mss_clamp_in return`,
		`tcp option maxseg size > 1300 tcp option maxseg size set 1300 counter name mss_clamp_in`,
	}
	if diff := cmp.Diff(wantIn, rs.Rules(chainMSSIn)); diff != "" {
		t.Errorf("mss_in (-want +got):\n%s", diff)
	}
	wantOut := []string{
		`tcp flags & (syn|rst) == syn rt ipsec exists tcp option maxseg size > 1300 tcp option maxseg size set 1300 counter name mss_clamp_out`,
		`tcp flags & (syn|rst) == syn oifname @xfrm_ifs tcp option maxseg size set rt mtu counter name mss_clamp_out`,
	}
	if diff := cmp.Diff(wantOut, rs.Rules(chainPostrouting)); diff != "" {
		t.Errorf("postrouting (-want +got):\n%s", diff)
	}
	s.NoMSSClamp = true
	rs = mustBuild(t, s)
	if n := len(rs.Rules(chainMSSIn)) + len(rs.Rules(chainPostrouting)); n != 0 {
		t.Errorf("NoMSSClamp left %d clamp rules", n)
	}
}

func TestBuildForwardAndPrerouting(t *testing.T) {
	rs := mustBuild(t, baseSpec())
	wantFwd := []string{
		`meta secpath exists counter name fwd_tunnel drop`,
		`iifname @xfrm_ifs counter name fwd_tunnel drop`,
		`counter name fwd_drop drop`,
	}
	if diff := cmp.Diff(wantFwd, rs.Rules(chainForward)); diff != "" {
		t.Errorf("forward (-want +got):\n%s", diff)
	}
	wantPre := []string{`meta secpath exists jump from_tunnel`, `iifname @xfrm_ifs jump from_tunnel`}
	if diff := cmp.Diff(wantPre, rs.Rules(chainPrerouting)); diff != "" {
		t.Errorf("prerouting (-want +got):\n%s", diff)
	}
	if got := rs.Rules(chainFromTunnel); len(got) == 0 || got[len(got)-1] != "jump intercepts" {
		t.Errorf("from_tunnel does not end in the intercepts: %q", got)
	}
}

func TestBuildLogDrops(t *testing.T) {
	s := baseSpec()
	s.LogDrops = true
	rs := mustBuild(t, s)
	for _, c := range []string{chainInput, chainIPsecIn, chainForward} {
		rules := rs.Rules(c)
		if n := len(rules); n < 2 || !strings.HasPrefix(rules[n-2], "limit rate 5/second") || !strings.Contains(rules[n-2], "log prefix") {
			t.Errorf("%s: no rate-limited log before the final drop: %q", c, rules)
		}
	}
}

func TestBuildCountersNamed(t *testing.T) {
	rs := mustBuild(t, baseSpec())
	for _, want := range []string{"in_loopback", "in_ike", "in_esp", "in_drop", "in_ipsec_drop", "in_mgmt", "fwd_drop", "fwd_tunnel"} {
		if !slices.Contains(rs.Counters(), want) {
			t.Errorf("no counter %s in %v", want, rs.Counters())
		}
	}
}

func TestBuildRejectsBadSpec(t *testing.T) {
	for name, s := range map[string]Spec{
		"long ifname":         {WAN: []string{"a-very-long-interface-name"}},
		"single NIC mismatch": {WAN: []string{"eth0"}, LAN: []string{"eth1"}, SingleNIC: true},
		"bad MSS":             {MSS: 100},
		"unspecified peer":    {Peers: []netip.Addr{addr("0.0.0.0")}},
	} {
		if _, err := Build(s); err == nil {
			t.Errorf("%s: Build accepted it", name)
		}
	}
}

func TestDefaultDenyRuleset(t *testing.T) {
	rs := DefaultDenyRuleset()
	want := []string{`iif "lo" counter name in_loopback accept`, `counter name in_drop drop`}
	if diff := cmp.Diff(want, rs.Rules(chainInput)); diff != "" {
		t.Errorf("input (-want +got):\n%s", diff)
	}
	for _, c := range rs.chains {
		if c.hook != nil && c.policy == nil {
			t.Errorf("chain %s has no policy", c.name)
		}
	}
}

func TestAfterPrefix(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.0/8": "11.0.0.0", "192.168.1.0/24": "192.168.2.0", "255.255.255.0/24": "", "0.0.0.0/0": "", "2001:db8::/32": "2001:db9::"} {
		got, ok := afterPrefix(prefix(in))
		if want == "" {
			if ok {
				t.Errorf("afterPrefix(%s) = %v, want none", in, got)
			}
			continue
		}
		if !ok || got.String() != want {
			t.Errorf("afterPrefix(%s) = %v, %v; want %s", in, got, ok, want)
		}
	}
}

func TestInterceptRuleAndComment(t *testing.T) {
	ic := Intercept{Proto: "tcp", Dst: prefix("100.64.0.5/32"), Src: prefix("10.1.0.0/16"), LowPort: 80, HighPort: 90, Iface: "ipsec0", TProxyPort: 41234, ServiceID: "3xYz"}
	r := interceptRule(ic)
	want := `iifname "ipsec0" meta nfproto ipv4 ip saddr 10.1.0.0/16 ip daddr 100.64.0.5 meta l4proto tcp tcp dport 80-90 counter tproxy ip to 127.0.0.1:41234 meta mark set 0x00000001 accept`
	if got := r.String(); got != want {
		t.Errorf("rule\n got %s\nwant %s", got, want)
	}
	back, ok := parseInterceptComment(commentFromUserdata(userdataComment(r.comment)))
	if !ok {
		t.Fatalf("comment %q does not parse", r.comment)
	}
	if back != ic.normalize() {
		t.Errorf("comment round trip: got %+v, want %+v", back, ic.normalize())
	}
}

func TestParseDiverter(t *testing.T) {
	for _, tc := range []struct {
		args []string
		op   string
		key  string
		ok   bool
	}{
		{[]string{"-V"}, "version", "", true},
		{[]string{"-I", "-c", "100.64.0.5", "-m", "32", "-p", "tcp", "-o", "0.0.0.0", "-n", "0", "-l", "80", "-h", "80", "-t", "40000", "-s", "svc"}, "insert", "tcp 100.64.0.5/32 from 0.0.0.0/0 ports 80-80", true},
		{[]string{"-D", "-c", "100.64.0.0", "-m", "10", "-p", "udp", "-o", "10.1.0.0", "-n", "16", "-l", "1", "-h", "65535", "-N", "ipsec0"}, "delete", "udp 100.64.0.0/10 from 10.1.0.0/16 ports 1-65535 iif ipsec0", true},
		{[]string{"-I", "-c", "100.64.0.5", "-m", "32", "-p", "tcp", "-l", "80", "-h", "80"}, "", "", false}, // no -t
		{[]string{"-I", "-c", "2001:db8::1", "-m", "128", "-p", "tcp", "-l", "80", "-h", "80", "-t", "1"}, "", "", false},
		{[]string{"-D", "-c", "100.64.0.5", "-m", "32", "-p", "tcp", "-l", "90", "-h", "80"}, "", "", false},
		{[]string{"-I", "-D"}, "", "", false},
		{[]string{}, "", "", false},
	} {
		cmd, err := parseDiverter(tc.args)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err = %v, want ok %v", tc.args, err, tc.ok)
			continue
		}
		if err != nil {
			continue
		}
		if cmd.op != tc.op || (tc.key != "" && cmd.ic.key() != tc.key) {
			t.Errorf("%q: op %q key %q, want %q %q", tc.args, cmd.op, cmd.ic.key(), tc.op, tc.key)
		}
	}
}

// TestBuildSourceCheck: each reqid's networks return from ipsec_src only
// through an SA of that reqid; everything else from them is dropped and
// counted. Sources of one reqid merge, and the order is the reqids'.
func TestBuildSourceCheck(t *testing.T) {
	s := baseSpec()
	s.Sources = []Source{
		{ReqID: 9, Networks: []netip.Prefix{prefix("10.20.0.0/16")}},
		{ReqID: 7, Networks: []netip.Prefix{prefix("172.16.0.0/24"), prefix("2001:db8:7::/48")}},
		{ReqID: 9, Networks: []netip.Prefix{prefix("10.20.5.0/24"), prefix("10.21.0.0/16")}},
	}
	rs := mustBuild(t, s)
	want := []string{
		`meta nfproto ipv4 ip saddr @from_7_4 ipsec in reqid 7 return`,
		`meta nfproto ipv6 ip6 saddr @from_7_6 ipsec in reqid 7 return`,
		`meta nfproto ipv4 ip saddr @from_9_4 ipsec in reqid 9 return`,
		`counter name in_ipsec_spoof drop`,
	}
	if diff := cmp.Diff(want, rs.Rules(chainIPsecSrc)); diff != "" {
		t.Errorf("ipsec_src (-want +got):\n%s", diff)
	}
	in := rs.Rules(chainIPsecIn)
	wantJumps := []string{
		`meta nfproto ipv4 ip saddr @from_any4 jump ipsec_src`,
		`meta nfproto ipv6 ip6 saddr @from_any6 jump ipsec_src`,
	}
	if len(in) < 2 || !cmp.Equal(wantJumps, in[:2]) {
		t.Errorf("ipsec_in does not start with the jumps to ipsec_src: %q", in)
	}
	for set, want := range map[string][]string{
		"from_9_4":  {"10.20.0.0/16", "10.21.0.0/16"},
		"from_7_6":  {"2001:db8:7::/48"},
		"from_any4": {"10.20.0.0/16", "10.21.0.0/16", "172.16.0.0/24"},
	} {
		got, ok := rs.Set(set)
		if diff := cmp.Diff(want, got); !ok || diff != "" {
			t.Errorf("set %s (exists %v): %s", set, ok, diff)
		}
	}
	if _, ok := mustBuild(t, baseSpec()).Set("from_any4"); ok {
		t.Errorf("a spec without sources has a from_any4 set")
	}
	bad := baseSpec()
	bad.Sources = []Source{{ReqID: 0, Networks: []netip.Prefix{prefix("10.0.0.0/8")}}}
	if _, err := Build(bad); err == nil || !strings.Contains(err.Error(), "reqid 0") {
		t.Errorf("Build with reqid 0: %v, want an error naming reqid 0", err)
	}
}

// TestBuildLetsTheBoxProbeThroughTunnels: the Diagnostics page's ping,
// traceroute and TCP connect (appliance/diag) leave from the inside
// address and need no rule of their own. The box's own output has no
// filter chain, and their answers through a tunnel (echo replies, time
// exceeded, SYN-ACK or RST) are replies or related errors, accepted by
// ipsec_in's conntrack rule, still only from the remote networks. No rule
// accepts new ICMP through a tunnel beyond echo requests to the inside
// address.
func TestBuildLetsTheBoxProbeThroughTunnels(t *testing.T) {
	s := baseSpec()
	s.RemoteNetworks = []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")}
	rs := mustBuild(t, s)
	for _, c := range rs.chains {
		if c.hook != nil && *c.hook == *nftables.ChainHookOutput {
			t.Errorf("chain %s filters the box's own output: the diagnostics' probes would need a rule there", c.name)
		}
	}
	rules := rs.Rules(chainIPsecIn)
	at := func(s string) int { return slices.Index(rules, s) }
	remote := at(`meta nfproto ipv4 ip saddr != @remote4 counter name in_ipsec_drop drop`)
	replies := at(`ct state established,related counter name in_ipsec_established accept`)
	last := len(rules) - 1
	if remote < 0 || replies < 0 || !(remote < replies && replies < last) || rules[last] != `counter name in_ipsec_drop drop` {
		t.Errorf("ipsec_in does not accept replies from the remote networks before its drop:\n%s", strings.Join(rules, "\n"))
	}
	for _, r := range rules {
		if strings.Contains(r, "icmp") && !strings.Contains(r, "echo-request") {
			t.Errorf("ipsec_in has an ICMP rule beyond echo requests: %s", r)
		}
	}
}
