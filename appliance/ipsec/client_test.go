package ipsec

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/config"
)

// fakeCharon records commands and answers list-sas from sas.
type fakeCharon struct {
	calls []string
	sas   []*vici.Message
	fail  map[string]error
	conns []string // get-conns' answer
}

func (f *fakeCharon) CommandRequest(cmd string, m *vici.Message) (*vici.Message, error) {
	arg := ""
	for _, k := range []string{"name", "id", "ike", "child"} {
		if v, ok := m.Get(k).(string); ok {
			arg = v
			break
		}
	}
	if cmd == "load-conn" {
		arg = m.Keys()[0]
	}
	f.calls = append(f.calls, cmd+" "+arg)
	if err := f.fail[cmd]; err != nil {
		return msg("success", "no"), err
	}
	if cmd == "get-conns" {
		m := vici.NewMessage()
		m.Set("conns", f.conns)
		return m, nil
	}
	return msg("success", "yes"), nil
}

func (f *fakeCharon) StreamedCommandRequest(cmd, event string, m *vici.Message) ([]*vici.Message, error) {
	f.calls = append(f.calls, cmd)
	return append(f.sas, msg()), nil
}

func fakeClient(t *testing.T) (*Client, *fakeCharon) {
	f := &fakeCharon{}
	c := NewClient(Options{Logf: t.Logf})
	c.sess = f
	return c, f
}

func named(name string, mod ...func(*config.Tunnel)) config.Tunnel {
	return tunnel(append([]func(*config.Tunnel){func(t *config.Tunnel) { t.Name = name }}, mod...)...)
}

func TestApplyReloadsOnlyWhatChanged(t *testing.T) {
	c, f := fakeClient(t)
	a, b := named("a"), named("b")
	if err := c.Apply([]config.Tunnel{a, b}); err != nil {
		t.Fatal(err)
	}
	want := []string{"load-shared tunneler-psk-a", "load-conn a", "load-shared tunneler-psk-b", "load-conn b"}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("first apply (-want +got):\n%s", diff)
	}

	f.calls = nil
	if err := c.Apply([]config.Tunnel{a, b}); err != nil || len(f.calls) != 0 {
		t.Errorf("unchanged apply sent %v (%v)", f.calls, err)
	}

	// b's PSK changes, a goes, c comes.
	f.calls = nil
	b2 := named("b", func(t *config.Tunnel) { t.PSK = config.NewSecret("changed-pre-shared-key-0123456") })
	if err := c.Apply([]config.Tunnel{b2, named("c")}); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"unload-conn a", "unload-shared tunneler-psk-a", "terminate a",
		"unload-conn b", "terminate b", "load-shared tunneler-psk-b", "load-conn b",
		"load-shared tunneler-psk-c", "load-conn c",
	}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("changed apply (-want +got):\n%s", diff)
	}
	if _, ok := c.Tunnel("a"); ok {
		t.Error("status of a deleted tunnel is still kept")
	}
}

func TestApplyRetriesFailedLoads(t *testing.T) {
	c, f := fakeClient(t)
	f.fail = map[string]error{"load-conn": errors.New("vici: command failed: busy")}
	if err := c.Apply([]config.Tunnel{named("a")}); err == nil {
		t.Fatal("a failed load-conn must be reported")
	}
	f.fail, f.calls = nil, nil
	if err := c.reconcile(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"load-shared tunneler-psk-a", "load-conn a"}, f.calls); diff != "" {
		t.Errorf("retry (-want +got):\n%s", diff)
	}
}

func TestApplyWithoutCharonOnlyRecords(t *testing.T) {
	c := NewClient(Options{})
	if err := c.Apply([]config.Tunnel{named("a")}); err != nil {
		t.Fatal(err)
	}
	st, ok := c.Tunnel("a")
	if !ok || st.Colour != Gray || st.Reason == "" {
		t.Errorf("status without charon: %+v", st)
	}
	if id, ok := c.ReqID("a"); !ok || id != ReqIDs([]config.Tunnel{{Name: "a"}})["a"] {
		t.Errorf("reqid %d %v", id, ok)
	}
}

func TestPlanReload(t *testing.T) {
	a, _ := NewConn(named("a"), 1)
	b, _ := NewConn(named("b"), 2)
	desired := map[string]Conn{"a": a, "b": b}
	p := PlanReload(desired, []string{"a", "b"}, map[string]string{"a": a.fingerprint, "b": "old", "z": "x"})
	if len(p.Load) != 1 || p.Load[0].Name != "b" || !cmp.Equal(p.Changed, []string{"b"}) || !cmp.Equal(p.Unload, []string{"z"}) {
		t.Errorf("plan %+v", p)
	}
}

// ikeEvent builds an ike-updown/child-updown/list-sa message.
func ikeEvent(name string, up bool, state, childState string) *vici.Message {
	ike := msg("uniqueid", "3", "version", "2", "state", state,
		"local-host", "192.0.2.1", "local-port", "4500", "remote-host", "192.0.2.2", "remote-port", "4500",
		"nat-remote", "yes", "encr-alg", "AES_GCM_16", "encr-keysize", "256", "prf-alg", "PRF_HMAC_SHA2_384",
		"dh-group", "ECP_384", "established", "5", "rekey-time", "9000", "initiator", "yes")
	if childState != "" {
		ch := msg("name", name, "uniqueid", "4", "reqid", "70000", "state", childState, "encap", "yes",
			"spi-in", "c1", "spi-out", "c2", "encr-alg", "AES_GCM_16", "encr-keysize", "256",
			"bytes-in", "840", "packets-in", "10", "bytes-out", "1680", "packets-out", "20",
			"rekey-time", "2500", "life-time", "2900", "install-time", "5")
		ch.Set("local-ts", []string{"100.64.0.0/10"})
		ch.Set("remote-ts", []string{"10.1.0.0/16"})
		children := vici.NewMessage()
		children.Set(name+"-4", ch)
		ike.Set("child-sas", children)
	}
	m := vici.NewMessage()
	if up {
		m.Set("up", "yes")
	}
	m.Set(name, ike)
	return m
}

func TestEventsDriveColourAndReason(t *testing.T) {
	c, _ := fakeClient(t)
	c.Apply([]config.Tunnel{named("a")})
	ev := func(name string, m *vici.Message) {
		c.handleEvent(vici.Event{Name: name, Message: m, Timestamp: time.Now()})
	}
	check := func(step string, colour Colour, reason string) TunnelStatus {
		t.Helper()
		st, _ := c.Tunnel("a")
		if st.Colour != colour || !strings.Contains(st.Reason, reason) {
			t.Errorf("%s: %s %q, want %s %q", step, st.Colour, st.Reason, colour, reason)
		}
		return st
	}
	check("never connected", Gray, "not connected")

	ev("log", msg("group", "IKE", "level", "1", "ikesa-name", "a", "msg", "received AUTHENTICATION_FAILED notify error"))
	check("wrong psk", Gray, "authentication failed")

	ev("ike-updown", ikeEvent("a", true, "ESTABLISHED", ""))
	check("ike up, no child", Gray, "no CHILD_SA")
	// IKEv1 Quick Mode refusal: a bare NO_PROPOSAL_CHOSEN once IKE is up.
	ev("log", msg("group", "IKE", "level", "1", "ikesa-name", "a", "msg", "received NO_PROPOSAL_CHOSEN error notify"))
	check("esp proposals", Gray, "ESP (phase 2)")
	ev("child-updown", ikeEvent("a", true, "ESTABLISHED", "INSTALLED"))
	st := check("up", Green, "")
	if st.Reason != "" || st.FirstUp.IsZero() || st.Established.IsZero() || !st.NATRemote || !st.Encap {
		t.Errorf("up status: %+v", st)
	}
	if ch := st.Children; len(ch) != 1 || ch[0].ReqID != 70000 || ch[0].PacketsOut != 20 || ch[0].RemoteTS[0] != "10.1.0.0/16" {
		t.Errorf("children: %+v", ch)
	}

	ev("child-rekey", ikeEvent("a", false, "ESTABLISHED", "INSTALLED"))
	ev("ike-rekey", ikeEvent("a", false, "ESTABLISHED", ""))
	if r := c.RekeyCounts("a"); r.IKE != 1 || r.Child != 1 {
		t.Errorf("rekeys %+v", r)
	}

	ev("log", msg("group", "IKE", "level", "1", "ikesa-name", "a", "msg", "giving up after 3 retransmits"))
	ev("ike-updown", ikeEvent("a", false, "DELETING", ""))
	st = check("peer gone", Orange, "does not answer")
	if st.LastDown.IsZero() || st.Established.IsZero() == false {
		t.Errorf("down status: %+v", st)
	}
	// Log lines of other tunnels or without a name change nothing.
	ev("log", msg("group", "IKE", "level", "1", "ikesa-name", "zzz", "msg", "NO_PROPOSAL_CHOSEN"))
	ev("log", msg("group", "IKE", "level", "1", "msg", "NO_PROPOSAL_CHOSEN"))
	check("unrelated log", Orange, "does not answer")

	c.charonGone()
	check("charon gone", Orange, "charon")
}

func TestRefreshFromListSAs(t *testing.T) {
	c, f := fakeClient(t)
	c.Apply([]config.Tunnel{named("a"), named("b")})
	f.sas = []*vici.Message{ikeEvent("a", false, "ESTABLISHED", "INSTALLED"), ikeEvent("b", false, "CONNECTING", "")}
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	a, _ := c.Tunnel("a")
	b, _ := c.Tunnel("b")
	if a.Colour != Green || a.IKEAlgorithms.String() != "AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384" || a.IKERekeyIn != 9000*time.Second {
		t.Errorf("a: %+v", a)
	}
	if d := time.Since(a.Established); d < 4*time.Second || d > 7*time.Second {
		t.Errorf("established %v ago, want ~5s", d)
	}
	if b.Colour != Gray || b.Reason != "connecting to the remote device" {
		t.Errorf("b: %s %q", b.Colour, b.Reason)
	}
	f.sas = nil
	c.Refresh()
	if a, _ = c.Tunnel("a"); a.Colour != Orange {
		t.Errorf("a after its SA vanished: %s", a.Colour)
	}
}

// TestCharonConnsFromGetConns: Refresh records what charon itself says it
// has loaded, which may differ from what the client asked for; it is
// forgotten when charon goes away.
func TestCharonConnsFromGetConns(t *testing.T) {
	c, f := fakeClient(t)
	c.Apply([]config.Tunnel{named("a")})
	if got := c.CharonConns(); got != nil {
		t.Errorf("before any refresh: %q", got)
	}
	f.conns = []string{"z-left-over", "a"}
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got, want := c.CharonConns(), []string{"a", "z-left-over"}; !slices.Equal(got, want) {
		t.Errorf("after a refresh: %q, want %q", got, want)
	}
	f.fail = map[string]error{"get-conns": errors.New("charon busy")}
	if err := c.Refresh(); err == nil || !strings.Contains(err.Error(), "get-conns") {
		t.Errorf("a failed get-conns: %v, want an error naming it", err)
	}
	c.charonGone()
	if got := c.CharonConns(); got != nil {
		t.Errorf("after charon went away: %q", got)
	}
}

func TestReasonFromLog(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"received AUTHENTICATION_FAILED notify error", "authentication failed"},
		{"tried 1 shared key for '192.0.2.2' - '192.0.2.1', but MAC mismatched", "authentication failed"},
		{"received NO_PROPOSAL_CHOSEN notify error", "IKE (phase 1) proposals do not match"},
		{"received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built", "ESP (phase 2) proposals do not match"},
		{"no acceptable proposal found", "this box accepts none of the algorithms the remote device offered"},
		{"no matching proposal found, sending NO_PROPOSAL_CHOSEN", "this box accepts none"},
		{"received proposals unacceptable", "this box accepts none"},
		{"received TS_UNACCEPTABLE notify, no CHILD_SA built", "networks do not match"},
		{"giving up after 5 retransmits", "does not answer"},
		{"establishing IKE_SA failed, peer not responding", "does not answer"},
		{"no shared key found for '192.0.2.1' - '192.0.2.2'", "no pre-shared key"},
		{"looking for peer configs matching 192.0.2.1[%any]...192.0.2.2[x], found none", "matches no tunnel"},
		{"sending keep alive to 192.0.2.2[4500]", ""},
	} {
		got := ReasonFromLog(tc.line)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%q -> %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestColour(t *testing.T) {
	for _, tc := range []struct {
		ike, child, ever bool
		want             Colour
	}{
		{true, true, true, Green}, {true, true, false, Green},
		{true, false, false, Gray}, {false, false, false, Gray},
		{false, false, true, Orange}, {true, false, true, Orange},
	} {
		if got := colour(tc.ike, tc.child, tc.ever); got != tc.want {
			t.Errorf("colour(ike %v, child %v, ever %v) = %s, want %s", tc.ike, tc.child, tc.ever, got, tc.want)
		}
	}
}

func TestRenderConf(t *testing.T) {
	got := string(RenderConf(ConfOptions{}))
	for _, want := range []string{
		"load = openssl kdf nonce x509 pem pkcs1 pkcs8 kernel-netlink socket-default vici\n",
		"install_routes = no", "make_before_break = yes",
		"retransmit_timeout = 2\n", "retransmit_base = 1.5\n", "retransmit_tries = 3\n",
		"socket = unix:///run/charon.vici",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("strongswan.conf lacks %q:\n%s", want, got)
		}
	}
	lib := string(RenderConf(ConfOptions{KernelLibipsec: true, Socket: "/tmp/x.vici"}))
	if !strings.Contains(lib, "load = openssl kdf nonce x509 pem pkcs1 pkcs8 kernel-libipsec kernel-netlink socket-default vici\n") ||
		!strings.Contains(lib, "unix:///tmp/x.vici") {
		t.Errorf("kernel-libipsec conf:\n%s", lib)
	}
	if strings.Count(got, "{") != strings.Count(got, "}") {
		t.Errorf("unbalanced braces:\n%s", got)
	}
	if d := (ConfOptions{}).GiveUpAfter(); d != 16250*time.Millisecond {
		t.Errorf("gives up after %v, want 16.25s", d)
	}
	if d := (ConfOptions{}).GiveUpAfter() + config.DefaultDPDDelay; d >= time.Minute {
		t.Errorf("a dead peer is noticed only after %v", d)
	}
}

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	pid, sock := dir+"/charon.pid", dir+"/charon.vici"
	for _, p := range []string{pid, sock} {
		if err := writeFile(p, "stale"); err != nil {
			t.Fatal(err)
		}
	}
	conf := dir + "/sub/strongswan.conf"
	if err := prepare(conf, RenderConf(ConfOptions{}), pid, sock); err != nil {
		t.Fatal(err)
	}
	if exists(pid) || exists(sock) || !exists(conf) {
		t.Errorf("after prepare: pid %v sock %v conf %v", exists(pid), exists(sock), exists(conf))
	}
}
