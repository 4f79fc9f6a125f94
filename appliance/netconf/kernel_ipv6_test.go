package netconf

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// dnsmasq6 serves router advertisements (every 2 s, on-link and
// autonomous prefix fd77:i::/64, managed flag set) and DHCPv6 from
// fd77:i::100-1ff on the site end of NIC i, the way a site's router does
// both.
func (r *rig) dnsmasq6(i int) {
	t := r.t
	t.Helper()
	testenv.RequireCommand(t, "dnsmasq")
	pre := fmt.Sprintf("fd77:%d::", i)
	r.net.Run(t, "ip", "addr", "replace", pre+"1/64", "dev", r.peers[i], "nodad")
	cmd := r.net.Command("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--log-facility=-",
		"--port=0", "--pid-file=", "--user=root", "--group=root",
		"--interface="+r.peers[i], "--bind-interfaces", "--except-interface=lo",
		"--log-dhcp", "--enable-ra", "--ra-param="+r.peers[i]+",2",
		"--dhcp-leasefile="+filepath.Join(r.dir, fmt.Sprintf("leases6-%d", i)),
		"--dhcp-range="+pre+"100,"+pre+"1ff,slaac,64,2m",
		"--dhcp-option=option6:dns-server,["+pre+"53]")
	logf, err := os.Create(filepath.Join(r.dir, fmt.Sprintf("dnsmasq6-%d.log", i)))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dnsmasq: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("dnsmasq (IPv6) on %s:\n%s", r.peers[i], b)
		}
	})
}

func (r *rig) sysctl6(nic, key string) string {
	return strings.TrimSpace(r.box.Run(r.t, "cat", "/proc/sys/net/ipv6/conf/"+nic+"/"+key))
}

func (r *rig) defaultRoute6() string {
	return strings.TrimSpace(r.boxIP("-6", "route", "show", "default"))
}

// The WAN takes IPv6 by SLAAC, DHCPv6 or statically, and not at all when
// off; the LAN never takes router advertisements. The site's router is
// dnsmasq, sending real advertisements and answering DHCPv6.
func TestKernelIPv6WAN(t *testing.T) {
	r := newRig(t, 2)
	r.dnsmasq6(0)
	m := r.start(r.options())
	wan, lan := r.nics[0], r.nics[1]
	lanSpec := IfaceSpec{Role: RoleLAN, Addresses: []netip.Prefix{pfx("192.168.50.1/24")}}
	apply := func(w IfaceSpec) {
		t.Helper()
		w.Role = RoleWAN
		if err := m.Apply(context.Background(), Spec{Interfaces: []IfaceSpec{w, lanSpec}}); err != nil {
			t.Fatal(err)
		}
	}
	addrs6 := func(flags ...string) string {
		return r.boxIP(append([]string{"-6", "-o", "addr", "show", "dev", wan, "scope", "global"}, flags...)...)
	}

	t.Run("slaac", func(t *testing.T) {
		apply(IfaceSpec{Addresses: []netip.Prefix{pfx("10.77.0.10/24")}, IPv6: IPv6SLAAC})
		if a, c := r.sysctl6(wan, "accept_ra"), r.sysctl6(wan, "autoconf"); a != "2" || c != "1" {
			t.Errorf("WAN accept_ra=%s autoconf=%s, want 2 and 1", a, c)
		}
		if a := r.sysctl6(lan, "accept_ra"); a != "0" {
			t.Errorf("LAN accept_ra=%s, want 0: only the WAN takes advertisements", a)
		}
		waitFor(t, 20*time.Second, "a SLAAC address in fd77:0::/64", func() bool { return strings.Contains(addrs6("dynamic"), "fd77::") })
		waitFor(t, 10*time.Second, "the default route from the advertisement", func() bool { return strings.Contains(r.defaultRoute6(), "proto ra") })
		var got []netip.Prefix
		for _, a := range r.iface(wan).Addresses {
			if a.Addr().Is6() {
				got = append(got, a)
			}
		}
		if len(got) == 0 || !pfx("fd77::/64").Contains(got[0].Addr()) {
			t.Errorf("status shows the WAN's IPv6 addresses as %v, want the SLAAC one", got)
		}
		if strings.Contains(r.boxIP("-6", "-o", "addr", "show", "dev", lan, "scope", "global"), "fd77") {
			t.Errorf("LAN took an address")
		}
	})
	t.Run("dhcpv6", func(t *testing.T) {
		apply(IfaceSpec{Addresses: []netip.Prefix{pfx("10.77.0.10/24")}, IPv6: IPv6DHCP})
		if c := r.sysctl6(wan, "autoconf"); c != "0" {
			t.Errorf("WAN autoconf=%s, want 0 with DHCPv6", c)
		}
		waitFor(t, 30*time.Second, "a DHCPv6 address", func() bool { return r.iface(wan).Lease6 != nil })
		l := r.iface(wan).Lease6
		if lo, hi := netip.MustParseAddr("fd77::100"), netip.MustParseAddr("fd77::1ff"); l.Address.Bits() != 128 || l.Address.Addr().Less(lo) || hi.Less(l.Address.Addr()) {
			t.Fatalf("DHCPv6 address %v is not from fd77::100-1ff", l.Address)
		}
		if !r.hasAddr(wan, l.Address.String()) {
			t.Fatalf("%v not on %s:\n%s", l.Address, wan, r.boxIP("-6", "addr"))
		}
		resolv, _ := os.ReadFile(filepath.Join(r.dir, "resolv.conf"))
		if !strings.Contains(string(resolv), "nameserver fd77::53\n") {
			t.Errorf("resolv.conf lacks the DHCPv6 DNS server:\n%s", resolv)
		}
	})
	t.Run("static", func(t *testing.T) {
		apply(IfaceSpec{Addresses: []netip.Prefix{pfx("10.77.0.10/24"), pfx("fd77::10/64")}, IPv6: IPv6Static, Gateway6: addr("fd77::1")})
		if a := r.sysctl6(wan, "accept_ra"); a != "0" {
			t.Errorf("WAN accept_ra=%s, want 0 with static IPv6", a)
		}
		waitFor(t, 5*time.Second, "the static IPv6 default route", func() bool {
			return strings.HasPrefix(r.defaultRoute6(), "default via fd77::1 dev "+wan+" proto static")
		})
		if st := r.iface(wan); st.Lease6 != nil || strings.Contains(addrs6(), "/128") || strings.Contains(addrs6(), "dynamic") {
			t.Errorf("the DHCPv6 or SLAAC address stayed after the switch to static: %v\n%s", st.Lease6, addrs6())
		}
		// A reply from the site's router proves the address works, once
		// duplicate address detection is through.
		waitFor(t, 10*time.Second, "fd77::10 through DAD", func() bool {
			a := addrs6()
			return strings.Contains(a, "fd77::10/64") && !strings.Contains(a, "tentative")
		})
		r.box.Run(t, "ping", "-6", "-c", "1", "-W", "5", "fd77::1")
	})
	t.Run("off", func(t *testing.T) {
		apply(IfaceSpec{Addresses: []netip.Prefix{pfx("10.77.0.10/24")}})
		if d := r.sysctl6(wan, "disable_ipv6"); d != "1" {
			t.Errorf("WAN disable_ipv6=%s, want 1 with IPv6 off", d)
		}
		if a := r.boxIP("-6", "-o", "addr", "show", "dev", wan); a != "" {
			t.Errorf("WAN keeps IPv6 addresses with IPv6 off:\n%s", a)
		}
		if d := r.defaultRoute6(); d != "" {
			t.Errorf("IPv6 default route %q with IPv6 off", d)
		}
	})
}
