package opmenu

import (
	"bytes"
	"context"
	"fmt"
	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/control"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/diag"
	"github.com/tunneler/tunneler/appliance/ipsec/explain"
	"github.com/tunneler/tunneler/appliance/netconf"
)

func withTunnel() config.Config {
	return config.Config{Version: config.CurrentVersion, Tunnels: []config.Tunnel{{
		Name: "hq", PeerAddress: "203.0.113.5", IKESettings: config.IKESettings{PSK: config.NewSecret("q7Vd-2mXz-Lp9R-wT4k-Hs8N-bY3c")},
		RemoteNetworks: []config.Prefix{config.MustPrefix("10.1.0.0/16")},
	}}}
}

func TestSetLAN(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string
		want    string // mode and address of LAN after
	}{
		{in: "192.168.50.2/24", want: "static 192.168.50.2/24"},
		{in: " dhcp ", want: "dhcp "},
		{in: "DHCP", want: "dhcp "},
		{in: "192.168.50.2", wantErr: "has no prefix length: type it like 192.168.50.2/24"},
		{in: "192.168.50.300/24", wantErr: "is not an address like 192.168.1.1/24"},
		{in: "", wantErr: "nothing typed"},
		{in: "fd00::1/64", wantErr: "must be IPv4"},
		{in: "192.168.50.0/24", wantErr: "interfaces[0].address"},   // the network's own address
		{in: "10.1.2.3/24", wantErr: "10.1.0.0/16"},                 // clashes with the tunnel's remote network
		{in: "192.168.50.255/24", wantErr: "interfaces[0].address"}, // broadcast
	} {
		got, err := SetLAN(withTunnel(), tc.in)
		if err == nil {
			// What the owner's Save says of it.
			if errs := got.Validate(); len(errs) > 0 {
				err = errs
			}
		}
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SetLAN(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("SetLAN(%q): %v", tc.in, err)
			continue
		}
		lan := got.Interfaces[ifaceIndex(got, config.RoleLAN)]
		if s := string(lan.Mode) + " " + lan.Address.String(); s != tc.want {
			t.Errorf("SetLAN(%q): LAN is %q, want %q", tc.in, s, tc.want)
		}
	}
}

func TestAssignRoles(t *testing.T) {
	c, err := AssignRoles(config.Config{}, "52:54:00:AA:00:02", "52:54:00:aa:00:01")
	if err != nil {
		t.Fatal(err)
	}
	if c.Interfaces[0].Role != config.RoleWAN || c.Interfaces[0].MAC != "52:54:00:aa:00:02" || c.Interfaces[1].MAC != "52:54:00:aa:00:01" {
		t.Errorf("interfaces = %+v", c.Interfaces)
	}
	for _, tc := range [][2]string{{"52:54:00:aa:00:01", "52:54:00:AA:00:01"}, {"", "52:54:00:aa:00:01"}, {"nonsense", ""}} {
		if _, err := AssignRoles(config.Config{}, tc[0], tc[1]); err == nil {
			t.Errorf("AssignRoles(%q, %q) accepted", tc[0], tc[1])
		}
	}
}

// The menu driven as an operator would: set the LAN address, reset the
// password, try the debug entry, factory reset.
func TestMenuChangesGoThroughTheStore(t *testing.T) {
	hash, _ := adminpw.Hash("operator-password")
	c := withTunnel()
	c.Admin.PasswordHash = config.NewSecret(hash)
	owner := newTestOwner(t, c)
	store := owner.store
	var rebooted []string
	var logs []string
	code := ""
	b := &Menu{
		Settings:  owner,
		TestHooks: true,
		FactoryReset: func() error {
			if err := Wipe(store.Dir); err != nil {
				return err
			}
			rebooted = append(rebooted, "factory reset")
			return nil
		},
		NetStatus:      func() (netconf.Status, error) { return netconf.Status{}, nil },
		SetupCode:      func() string { return code },
		EnterSetupMode: func() string { code = "1234-5678"; return code },
		Logs:           func() []string { return []string{"boot line"} },
		Reboot:         func(r string) { rebooted = append(rebooted, r) },
		PowerOff:       func(string) {},
		Logf:           func(f string, a ...any) { logs = append(logs, f) },
		Ping: func(ctx context.Context, p *diag.Ping, w io.Writer) error {
			fmt.Fprintf(w, "pinged %s from %v through %q\n", p.Target, p.Source, p.Tunnel)
			return nil
		},
		WrongPasswordDelay: 1,
	}
	m := &console.Menu{Title: "T", Items: b.Items()}
	in := strings.Join([]string{
		"3", "192.168.50.2/24", // set LAN
		"3", "10.1.0.1/24", // refused: the tunnel's remote network
		"4",               // setup code: none
		"11", "wrong-one", // debug: wrong password
		"11", "operator-password",
		"6", "192.0.2.9",
		"6", "10.1.7.9", // behind tunnel hq: from the inside address
		"7",
		"5", "yes", // reset admin password
		"4",
		"10", "yes", // factory reset
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := m.Serve(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	for _, want := range []string{
		"Saved as config generation 2.", "Applied.",
		"Not saved:", "overlaps",
		"there is no setup code",
		"Debug shell (test hook; asks for the admin password) failed: wrong password",
		"Password accepted, but this image has no shell installed",
		`pinged 192.0.2.9 from invalid IP through ""`, `pinged 10.1.7.9 from 100.64.0.1 through "hq"`, "boot line",
		"SETUP MODE. Setup code: 1234-5678", "Setup code: 1234-5678",
		"Config erased. Rebooting into setup mode.",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("console lacks %q:\n%s", want, o)
		}
	}
	if strings.Contains(o, "operator-password") || strings.Contains(o, hash) {
		t.Errorf("the console shows the password or its hash")
	}
	applied := owner.applied()
	if len(applied) != 2 {
		t.Log(o)
		t.Fatalf("%d configs applied, want 2 (LAN, password reset)", len(applied))
	}
	if lan := applied[0].Interfaces[0]; lan.Address.String() != "192.168.50.2/24" {
		t.Errorf("applied LAN = %+v", lan)
	}
	if !applied[1].Admin.PasswordHash.IsZero() || applied[1].Interfaces[0].Address.String() != "192.168.50.2/24" || len(applied[1].Tunnels) != 1 {
		t.Errorf("after the reset: %v; want no hash, the rest kept", applied[1])
	}
	if len(rebooted) != 1 || rebooted[0] != "factory reset" {
		t.Errorf("reboots = %v", rebooted)
	}
	if _, _, err := store.Load(); err == nil {
		t.Errorf("the store still has a config after the factory reset")
	}
}

func TestTunnelLines(t *testing.T) {
	st := control.Status{Tunnels: []control.TunnelStatus{
		{Name: "branch", Colour: control.Green},
		{Name: "aws", Colour: control.Green, WeakCrypto: true},
		{Name: "old", Colour: control.Gray, Reason: "IKE (phase 1) proposals do not match",
			Mismatch: &explain.Explanation{Kind: explain.IKEProposals, Side: explain.Ours, Preset: "legacy", PresetWeak: true}},
		{Name: "hq-r2", Site: "hq", Colour: control.Orange, Reason: "the remote device stopped answering"},
		{Name: "lab", Colour: control.Gray, Reason: "charon has not loaded this tunnel yet"},
		{Name: "v1", Colour: control.Gray, Reason: "ESP (phase 2) proposals do not match: this box accepts none of the remote device's",
			Mismatch: &explain.Explanation{Kind: explain.ESPProposals, Side: explain.Ours,
				Offered: []string{"ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/NO_EXT_SEQ"}, Accepted: []string{"ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ"}, NoPreset: true},
			NAT: []string{"remote host is behind NAT"}, VendorIDs: []string{"XAuth", "DPD"}},
		{Name: "id", Colour: control.Gray, Reason: "identity mismatch",
			Mismatch: &explain.Explanation{Kind: explain.Identity, Side: explain.Ours, SentID: "wrong.example.net", ExpectedID: "192.0.2.2"}},
	}}
	want := []string{
		"Tunnel branch is green",
		"Tunnel aws is green (weak crypto: legacy preset)",
		"Tunnel old is gray: IKE (phase 1) proposals do not match",
		"  matching preset:       legacy, with the weak-crypto acknowledgment",
		"Tunnel hq-r2 (site hq) is orange: the remote device stopped answering",
		"Tunnel lab is gray: charon has not loaded this tunnel yet",
		"Tunnel v1 is gray: ESP (phase 2) proposals do not match: this box accepts none of the remote device's",
		"  remote device offered: ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/NO_EXT_SEQ",
		"  this tunnel accepts:   ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ",
		"  matching preset:       none (the device offers only algorithms this box does not allow)",
		"  NAT:                   remote host is behind NAT",
		"  device vendor IDs:     XAuth, DPD",
		"Tunnel id is gray: identity mismatch",
		"  device sent ID:        wrong.example.net",
		"  expected ID:           192.0.2.2",
	}
	if diff := cmp.Diff(want, TunnelLines(st)); diff != "" {
		t.Errorf("TunnelLines (-want +got):\n%s", diff)
	}
}

// A change on trial is confirmed or reverted from the console like from a
// browser; the entries show only while a trial runs.
func TestConsoleConfirmsTrial(t *testing.T) {
	owner := newTestOwner(t, withTunnel())
	c, gen, _ := owner.Config()
	c.System.Hostname = "on-trial"
	if _, err := owner.Save(context.Background(), control.Change{Config: c, Base: gen, Trial: time.Hour}); err != nil {
		t.Fatal(err)
	}
	b := &Menu{Settings: owner}
	m := &console.Menu{Title: "T", Items: b.Items()}
	var out bytes.Buffer
	if err := m.Serve(strings.NewReader("1\n18\n18\n"), &out); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	for _, want := range []string{"TRIAL: generation 2 goes back to generation 1 in", "Generation 2 confirmed: it stays.", `No menu entry "18"`} {
		if !strings.Contains(o, want) {
			t.Errorf("console lacks %q:\n%s", want, o)
		}
	}
	if owner.Trial() != nil {
		t.Error("the trial still runs")
	}
}

func TestSetWANIPv6(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string
		want    string // the WAN's IPv6 summary after
	}{
		{in: "slaac", want: "slaac"},
		{in: " DHCPv6 ", want: "dhcpv6"},
		{in: "off", want: "off"},
		{in: "2001:db8::10/64 fe80::1", want: "static 2001:db8::10/64 gw fe80::1"},
		{in: "", wantErr: "nothing typed"},
		{in: "on", wantErr: `"on" is not off, slaac, dhcpv6, nor an address/prefix and a gateway`},
		{in: "2001:db8::10/64", wantErr: `is not off, slaac, dhcpv6, nor an address/prefix and a gateway`},
		{in: "2001:db8::10/64 2001:db9::1", wantErr: "ipv6_gateway: 2001:db9::1 is neither in the interface's subnet"},
		{in: "10.0.0.5/24 10.0.0.1", wantErr: "is not an IPv6 address with a prefix length"},
	} {
		got, err := SetWANIPv6(withTunnel(), tc.in)
		if err == nil {
			if errs := got.Validate(); len(errs) > 0 {
				err = errs
			}
		}
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SetWANIPv6(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("SetWANIPv6(%q): %v", tc.in, err)
			continue
		}
		if s := wanIPv6Summary(got.Interfaces[ifaceIndex(got, config.RoleWAN)]); s != tc.want {
			t.Errorf("SetWANIPv6(%q): WAN IPv6 %s, want %s", tc.in, s, tc.want)
		}
	}
}

// Every entry of the full menu has its own key, the IPv6 one included
// (a key taken twice would make one entry unreachable).
func TestMenuKeysUnique(t *testing.T) {
	b := &Menu{Firmware: &fakeFirmware{}, TestHooks: true}
	seen := map[string]string{}
	for _, it := range b.Items() {
		if it.Shown != nil && !it.Shown() {
			continue
		}
		if other, dup := seen[it.Key]; dup {
			t.Errorf("key %s is both %q and %q", it.Key, other, it.Title)
		}
		seen[it.Key] = it.Title
	}
	if seen["22"] != "Set WAN IPv6 (off, SLAAC, DHCPv6 or static)" {
		t.Errorf("key 22 is %q, want the WAN IPv6 entry", seen["22"])
	}
}
