package xfrm

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
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
