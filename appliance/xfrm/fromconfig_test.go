package xfrm

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

func TestFromConfig(t *testing.T) {
	cfg := config.Config{Tunnels: []config.Tunnel{
		{Name: "pol", PeerAddress: "198.51.100.9", RemoteNetworks: []config.Prefix{config.PrefixFrom(pfx("10.1.0.0/16"))}},
		{Name: "rt", PeerAddress: "fw.example.net", Mode: config.ModeRoute, IfID: 5,
			RemoteNetworks: []config.Prefix{config.PrefixFrom(pfx("10.2.0.0/16"))}},
		{Name: "dns-down", PeerAddress: "gone.example.net", RemoteNetworks: []config.Prefix{config.PrefixFrom(pfx("10.3.0.0/16"))}},
	}}.WithDefaults()
	resolve := func(h string) (netip.Addr, error) {
		if h == "fw.example.net" {
			return addr("203.0.113.5"), nil
		}
		return netip.Addr{}, errors.New("no such host")
	}
	d, err := FromConfig(cfg, map[string]uint32{"pol": 1, "rt": 2, "dns-down": 3}, resolve)
	if err == nil || !strings.Contains(err.Error(), "gone.example.net") {
		t.Errorf("unresolved peer not reported: %v", err)
	}
	if len(d.Tunnels) != 2 || d.InsideAddress != addr("100.64.0.1") {
		t.Fatalf("desired: %+v", d)
	}
	pol, rt := d.Tunnels[0], d.Tunnels[1]
	if pol.ReqID != 1 || pol.Route || pol.Routes[0] != pfx("10.1.0.0/16") || pol.LocalNets[0] != pfx("100.64.0.0/10") {
		t.Errorf("policy tunnel: %+v", pol)
	}
	if rt.Peer != addr("203.0.113.5") || !rt.Route || rt.IfID != 5 || rt.Routes[0] != pfx("10.2.0.0/16") {
		t.Errorf("route tunnel: %+v", rt)
	}
	if _, err := Policies(d.Tunnels); err != nil {
		t.Errorf("policies: %v", err)
	}

	prev := Desired{Tunnels: []Tunnel{{Name: "dns-down", ReqID: 3}, {Name: "deleted"}}}
	kept := KeepUnresolved(d, prev, []string{"pol", "rt", "dns-down"})
	if len(kept.Tunnels) != 3 || kept.Tunnels[2].Name != "dns-down" {
		t.Errorf("KeepUnresolved: %+v", kept.Tunnels)
	}
}

// Sites cannot spoof each other: with the reqids charon gets
// (ipsec.ReqIDs of every tunnel charon loads), a site's in and fwd
// policies name the reqid that all of its remotes' CHILD_SAs carry, and
// that no other site's or tunnel's SA carries. (This kernel has no ESP, so
// the kernel test checks the templates are installed as built, not a
// packet's fate.)
func TestSiteInboundOnlyItsOwnSAs(t *testing.T) {
	cfg := config.Config{
		Tunnels: []config.Tunnel{{Name: "pol", PeerAddress: "198.51.100.9", RemoteNetworks: []config.Prefix{config.PrefixFrom(pfx("10.1.0.0/16"))}}},
		Sites: []config.Site{
			{Name: "hq", RemoteNetworks: []config.Prefix{config.PrefixFrom(pfx("10.9.0.0/24"))},
				Remotes: []config.Remote{{PeerAddress: "192.0.2.2", Profile: "p"}, {PeerAddress: "192.0.2.3", Profile: "p"}}},
			{Name: "branch", RemoteNetworks: []config.Prefix{config.PrefixFrom(pfx("10.8.0.0/24"))},
				Remotes: []config.Remote{{PeerAddress: "192.0.2.4", Profile: "p"}, {PeerAddress: "192.0.2.5", Profile: "p"}}},
		},
		Profiles: []config.Profile{{Name: "p"}},
	}
	reqids := ipsec.ReqIDs(cfg.AllTunnels())
	d, err := FromConfig(cfg.Expand(map[string]int{"hq": 1}), reqids, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Policies(d.Tunnels)
	if err != nil {
		t.Fatal(err)
	}
	// Which SAs (by reqid) may bring in packets from each remote network.
	accepts := map[netip.Prefix][]uint32{}
	for _, p := range ps {
		if p.Dir != netlink.XFRM_DIR_OUT {
			accepts[p.Src] = append(accepts[p.Src], p.ReqID)
		}
	}
	for _, tc := range []struct {
		nets   string
		own    []string // the tunnels whose SAs may carry them
		others []string
	}{
		{"10.9.0.0/24", []string{"hq-r1", "hq-r2"}, []string{"branch-r1", "branch-r2", "pol"}},
		{"10.8.0.0/24", []string{"branch-r1", "branch-r2"}, []string{"hq-r1", "hq-r2", "pol"}},
		{"10.1.0.0/16", []string{"pol"}, []string{"hq-r1", "hq-r2", "branch-r1", "branch-r2"}},
	} {
		got := accepts[pfx(tc.nets)]
		if len(got) != 2 {
			t.Fatalf("%s: %d inbound policies, want in and fwd", tc.nets, len(got))
		}
		for _, id := range got {
			if id == 0 {
				t.Errorf("%s: an inbound template takes any SA (reqid 0)", tc.nets)
			}
			for _, n := range tc.own {
				if reqids[n] != id {
					t.Errorf("%s: template reqid %d, but %s's SAs carry %d", tc.nets, id, n, reqids[n])
				}
			}
			for _, n := range tc.others {
				if reqids[n] == id {
					t.Errorf("%s: template reqid %d is also %s's", tc.nets, id, n)
				}
			}
		}
	}
}

// Only the remotes of a site accept inbound from any peer address; plain
// tunnels keep their own peer on in and fwd.
func TestFromConfigSiteAnyPeerInbound(t *testing.T) {
	cfg := config.Config{
		Tunnels: []config.Tunnel{{Name: "pol", PeerAddress: "198.51.100.9", RemoteNetworks: []config.Prefix{config.PrefixFrom(pfx("10.1.0.0/16"))}}},
		Sites: []config.Site{{Name: "hq", RemoteNetworks: []config.Prefix{config.PrefixFrom(pfx("10.9.0.0/24"))},
			Remotes: []config.Remote{{PeerAddress: "192.0.2.2", Profile: "p"}, {PeerAddress: "192.0.2.3", Profile: "p"}}}},
		Profiles: []config.Profile{{Name: "p"}},
	}
	exp := cfg.Expand(map[string]int{"hq": 1})
	d, err := FromConfig(exp, map[string]uint32{"pol": 1, "hq-r1": 2, "hq-r2": 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tunnels) != 2 {
		t.Fatalf("tunnels: %+v", d.Tunnels)
	}
	if d.Tunnels[0].AnyPeerInbound {
		t.Errorf("plain tunnel %s accepts inbound from any peer", d.Tunnels[0].Name)
	}
	if r := d.Tunnels[1]; r.Name != "hq-r2" || !r.AnyPeerInbound || r.ReqID != 3 || r.Peer != addr("192.0.2.3") {
		t.Errorf("active remote: %+v", r)
	}
}
