package ipsec

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/config"
)

func tunnel(mod ...func(*config.Tunnel)) config.Tunnel {
	t := config.Tunnel{
		Name:           "site-a",
		PeerAddress:    "198.51.100.9",
		IKESettings:    config.IKESettings{PSK: config.NewSecret("a-long-and-random-pre-shared-key")},
		RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.1.0.0/16"))},
	}
	for _, m := range mod {
		m(&t)
	}
	return config.Config{Tunnels: []config.Tunnel{t}}.WithDefaults().Tunnels[0]
}

func TestConnDefaults(t *testing.T) {
	c, err := NewConn(tunnel(), 70000)
	if err != nil {
		t.Fatal(err)
	}
	want := `site-a {
  version = 2
  local_addrs = ["%any"]
  remote_addrs = ["198.51.100.9"]
  proposals = ["aes256gcm16-prfsha256-ecp256" "aes256gcm16-prfsha384-ecp384" "aes256gcm16-prfsha256-x25519" "aes256-sha256-modp2048"]
  encap = no
  mobike = yes
  aggressive = no
  dpd_delay = 30s
  keyingtries = 0
  unique = replace
  rekey_time = 9720s
  over_time = 1080s
  rand_time = 540s
  local {
    auth = psk
  }
  remote {
    auth = psk
    id = 198.51.100.9
  }
  children {
    site-a {
      local_ts = ["100.64.0.0/10"]
      remote_ts = ["10.1.0.0/16"]
      esp_proposals = ["aes256gcm16-ecp256-modpnone" "aes256gcm16-ecp384-modpnone" "aes256gcm16-x25519-modpnone" "aes256-sha256-modp2048-modpnone"]
      mode = tunnel
      policies = no
      reqid = 70000
      life_time = 3000s
      rekey_time = 2700s
      rand_time = 150s
      start_action = start
      dpd_action = restart
      close_action = start
    }
  }
}
`
	if diff := cmp.Diff(want, dump(c.Message())); diff != "" {
		t.Errorf("load-conn message (-want +got):\n%s", diff)
	}
	wantSecret := `id = tunneler-psk-site-a
type = IKE
data = a-long-and-random-pre-shared-key
owners = ["198.51.100.9"]
`
	if diff := cmp.Diff(wantSecret, dump(c.SecretMessage())); diff != "" {
		t.Errorf("load-shared message (-want +got):\n%s", diff)
	}
	if strings.Contains(c.Fingerprint(), "a-long") {
		t.Error("fingerprint shows the PSK")
	}
}

// get walks a message by keys.
func get(m *vici.Message, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(*vici.Message)
		if !ok {
			return nil
		}
		v = mm.Get(k)
	}
	return v
}

func TestConnVariants(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name string
		mod  func(*config.Tunnel)
		want map[string]any // path joined by "." -> value; nil means absent
	}{
		{"ikev1 main mode, reauth, dpd timeout", func(t *config.Tunnel) { t.IKEVersion = config.IKEv1 }, map[string]any{
			"site-a.version": "1", "site-a.aggressive": "no", "site-a.mobike": "no",
			"site-a.reauth_time": "9720s", "site-a.rekey_time": "0s", "site-a.dpd_timeout": "150s",
			// IKEv1 has no AEAD for IKE: config drops the GCM proposals.
			"site-a.proposals": []string{"aes256-sha256-modp2048"},
		}},
		{"responder waits", func(t *config.Tunnel) { t.Initiation = config.Responder }, map[string]any{
			"site-a.children.site-a.start_action": "none",
			"site-a.children.site-a.dpd_action":   "clear",
			"site-a.children.site-a.close_action": "none",
		}},
		{"route mode carries if_id", func(t *config.Tunnel) { t.Mode, t.IfID = config.ModeRoute, 42 }, map[string]any{
			"site-a.children.site-a.if_id_in": "42", "site-a.children.site-a.if_id_out": "42",
		}},
		{"policy mode has no if_id", nil, map[string]any{
			"site-a.children.site-a.if_id_in": nil,
		}},
		{"forced encap, mobike off, ids, local address", func(t *config.Tunnel) {
			t.ForceUDPEncap, t.MOBIKE = true, &off
			t.LocalID, t.RemoteID = "box.example.net", "fw@site.example"
			t.LocalAddress = config.AddrFrom(netip.MustParseAddr("192.0.2.1"))
		}, map[string]any{
			"site-a.encap": "yes", "site-a.mobike": "no",
			"site-a.local.id": "box.example.net", "site-a.remote.id": "fw@site.example",
			"site-a.local_addrs": []string{"192.0.2.1"},
		}},
		{"reauth instead of rekey", func(t *config.Tunnel) { t.Reauth = true }, map[string]any{
			"site-a.reauth_time": "9720s", "site-a.rekey_time": "0s",
		}},
		{"custom proposals, one per element", func(t *config.Tunnel) {
			t.IKEProposals = []string{"aes128gcm16-prfsha256-ecp256", "aes256-sha384-modp3072"}
			t.ESPProposals = []string{"aes128gcm16"}
			t.ChildLifetime = config.Dur(time.Hour)
		}, map[string]any{
			"site-a.proposals":                     []string{"aes128gcm16-prfsha256-ecp256", "aes256-sha384-modp3072"},
			"site-a.children.site-a.esp_proposals": []string{"aes128gcm16"},
			"site-a.children.site-a.rekey_time":    "3240s",
			"site-a.children.site-a.life_time":     "3600s",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*config.Tunnel)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			c, err := NewConn(tunnel(mods...), 7)
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range tc.want {
				got := get(c.Message(), strings.Split(path, ".")...)
				if want == nil {
					if got != nil {
						t.Errorf("%s = %v, want absent", path, got)
					}
					continue
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
			}
		})
	}
}

func TestConnSecretOwners(t *testing.T) {
	c, err := NewConn(tunnel(func(t *config.Tunnel) { t.LocalID, t.RemoteID = "box", "peer" }), 7)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"box", "peer"}, c.SecretMessage().Get("owners")); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
}

func TestConnErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		t    config.Tunnel
		want string
	}{
		"no psk":       {tunnel(func(t *config.Tunnel) { t.PSK = config.Secret{} }), "no pre-shared key"},
		"no proposals": {config.Tunnel{Name: "x", IKESettings: config.IKESettings{PSK: config.NewSecret("k")}}, "no proposals"},
		"route no id":  {tunnel(func(t *config.Tunnel) { t.Mode = config.ModeRoute }), "if_id"},
		"no networks":  {tunnel(func(t *config.Tunnel) { t.RemoteNetworks = nil }), "networks"},
	} {
		if _, err := NewConn(tc.t, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a, _ := NewConn(tunnel(), 7)
	same, _ := NewConn(tunnel(), 7)
	psk, _ := NewConn(tunnel(func(t *config.Tunnel) { t.PSK = config.NewSecret("another-long-pre-shared-key!") }), 7)
	nets, _ := NewConn(tunnel(func(t *config.Tunnel) {
		t.RemoteNetworks = append(t.RemoteNetworks, config.PrefixFrom(netip.MustParsePrefix("10.2.0.0/24")))
	}), 7)
	if a.Fingerprint() != same.Fingerprint() {
		t.Error("same tunnel, different fingerprints")
	}
	if a.Fingerprint() == psk.Fingerprint() || a.Fingerprint() == nets.Fingerprint() {
		t.Error("a change of PSK or networks keeps the fingerprint: it would not be reloaded")
	}
}

func TestReqIDs(t *testing.T) {
	ts := []config.Tunnel{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	ids := ReqIDs(ts)
	seen := map[uint32]bool{}
	for _, id := range ids {
		if seen[id] || id < reqIDBase {
			t.Errorf("reqid %d repeated or below %d", id, reqIDBase)
		}
		seen[id] = true
	}
	// Stable: adding or removing another tunnel keeps a tunnel's reqid.
	more := ReqIDs(append(ts, config.Tunnel{Name: "d"}))
	less := ReqIDs(ts[:1])
	if more["a"] != ids["a"] || less["a"] != ids["a"] || more["c"] != ids["c"] {
		t.Errorf("reqids moved: %v %v %v", ids, more, less)
	}
}

// The remotes of one site share a reqid, which no other tunnel or site
// has, and each remote's CHILD_SA is loaded with it: the site's inbound
// policies name that reqid, so only its own remotes' SAs pass them.
func TestReqIDsShareOnePerSite(t *testing.T) {
	cfg := config.Config{
		Tunnels: []config.Tunnel{{Name: "plain", PeerAddress: "198.51.100.9", IKESettings: config.IKESettings{PSK: config.NewSecret("a-long-enough-psk")},
			RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.1.0.0/16"))}}},
		Profiles: []config.Profile{{Name: "p", IKESettings: config.IKESettings{PSK: config.NewSecret("a-long-enough-psk")}}},
		Sites: []config.Site{
			{Name: "hq", RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.9.0.0/24"))},
				Remotes: []config.Remote{{PeerAddress: "192.0.2.2", Profile: "p"}, {PeerAddress: "192.0.2.3", Profile: "p"}}},
			{Name: "branch", RemoteNetworks: []config.Prefix{config.PrefixFrom(netip.MustParsePrefix("10.8.0.0/24"))},
				Remotes: []config.Remote{{PeerAddress: "192.0.2.4", Profile: "p"}, {PeerAddress: "192.0.2.5", Profile: "p"}}},
		},
	}
	all := cfg.AllTunnels()
	ids := ReqIDs(all)
	if ids["hq-r1"] != ids["hq-r2"] || ids["branch-r1"] != ids["branch-r2"] {
		t.Errorf("remotes of one site got different reqids: %v", ids)
	}
	if ids["hq-r1"] == ids["branch-r1"] || ids["hq-r1"] == ids["plain"] || ids["branch-r1"] == ids["plain"] {
		t.Errorf("two sites, or a site and a tunnel, share a reqid: %v", ids)
	}
	for _, tun := range all {
		c, err := NewConn(tun, ids[tun.Name])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := get(c.Message(), tun.Name, "children", tun.Name, "reqid"), fmt.Sprint(ids[tun.Name]); got != want {
			t.Errorf("conn %s loads its CHILD_SA with reqid %v, want %s", tun.Name, got, want)
		}
	}
}

func TestESPProposalsMakePFSOptional(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"aes256gcm16-ecp384", "aes256gcm16-ecp384-modpnone"},
		{"aes256gcm16-x25519", "aes256gcm16-x25519-modpnone"},
		{"aes256-sha256-modp2048", "aes256-sha256-modp2048-modpnone"},
		{"aes128gcm16", "aes128gcm16"},                       // no PFS asked for: as is
		{"aes256-sha256-modpnone", "aes256-sha256-modpnone"}, // already optional
		{"aes256-sha256-ecp256-modpnone", "aes256-sha256-ecp256-modpnone"},
	} {
		if got := espProposals([]string{tc.in}); len(got) != 1 || got[0] != tc.want {
			t.Errorf("espProposals(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
