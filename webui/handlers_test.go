package webui

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/remoteconfig"
)

func TestSetupCodeGate(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/", "/overview", "/tunnels", "/settings", "/setup/tunnel", "/setup/review", "/login"} {
		st, path, body := h.get(p)
		if st != 200 || path != "/setup" || !strings.Contains(body, `id="f-code"`) {
			t.Errorf("GET %s in setup mode: %d at %s, want the setup code page", p, st, path)
		}
	}
	if st, _, _ := h.do(h.c, "GET", "/api/overview", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("GET /api/overview in setup mode: %d, want 401", st)
	}
	// A step POST without a setup session never reaches the wizard.
	if _, path, _ := h.post("/setup/password", url.Values{"password": {"xxxxxxxxxxxx"}, "confirm": {"xxxxxxxxxxxx"}}); path != "/setup" {
		t.Errorf("POST /setup/password without code ended at %s", path)
	}
	if h.box.saveCount() != 0 {
		t.Error("something was saved")
	}
}

func TestWrongSetupCode(t *testing.T) {
	h := newHarness(t)
	st, _, body := h.post("/setup", url.Values{"code": {"WRONG123"}})
	if st != http.StatusUnprocessableEntity {
		t.Errorf("wrong code: status %d, want 422", st)
	}
	if msg := fieldErr(body, "code"); !strings.Contains(msg, "not the code") {
		t.Errorf("wrong code: message next to the field = %q", msg)
	}
	if _, path, _ := h.get("/setup/password"); path != "/setup" {
		t.Errorf("after a wrong code /setup/password led to %s", path)
	}
	// JSON answer names the field.
	st, _, body = h.do(h.c, "POST", "/api/setup", url.Values{"code": {"WRONG999"}}, nil)
	if st != 422 || !strings.Contains(body, `"field": "code"`) {
		t.Errorf("JSON wrong code: %d %s", st, body)
	}
	if h.box.saveCount() != 0 {
		t.Error("something was saved")
	}
}

// TestSetupFieldErrors submits each kind of mistake and checks the message
// is next to the right field and nothing was saved.
func TestSetupFieldErrors(t *testing.T) {
	h := newHarness(t)
	h.post("/setup", url.Values{"code": {"ABCD2345"}})
	tok := h.csrf()
	pw := url.Values{"csrf": {tok}, "password": {"short"}, "confirm": {"other"}}
	st, _, body := h.post("/setup/password", pw)
	if st != 422 || fieldErr(body, "password") == "" || fieldErr(body, "confirm") == "" {
		t.Errorf("weak password: %d, password=%q confirm=%q", st, fieldErr(body, "password"), fieldErr(body, "confirm"))
	}
	h.post("/setup/password", url.Values{"csrf": {tok}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}})

	// A bad address.
	st, _, body = h.post("/setup/interfaces", url.Values{"csrf": {tok}, "wan_mode": {"static"}, "wan_address": {"192.0.2.300/24"}, "lan_mode": {"dhcp"}})
	if st != 422 || fieldErr(body, "wan_address") == "" {
		t.Errorf("bad WAN address: %d, next to field: %q\n%s", st, fieldErr(body, "wan_address"), body)
	}
	if strings.Contains(body, `value="192.0.2.300/24"`) == false {
		t.Error("the bad address is not kept in the form for correction")
	}
	h.post("/setup/interfaces", url.Values{"csrf": {tok}, "wan_mode": {"dhcp"}, "lan_mode": {"static"}, "lan_address": {"192.168.77.1/24"}})

	cases := []struct {
		name  string
		edit  func(url.Values)
		field string
		want  string
	}{
		{"weak PSK", func(v url.Values) { v.Set("psk", "password123") }, "psk", "too short"},
		{"guessable PSK", func(v url.Values) { v.Set("psk", "passwordpassword12345") }, "psk", ""},
		{"overlapping networks", func(v url.Values) { v.Set("remote_networks", "10.20.0.0/24\n10.20.0.128/25") }, "remote_networks", "line 2"},
		{"network overlapping the LAN", func(v url.Values) { v.Set("remote_networks", "192.168.77.0/24") }, "remote_networks", "line 1"},
		{"bad network", func(v url.Values) { v.Set("remote_networks", "10.20.0.0/33") }, "remote_networks", "line 1"},
		{"bad peer address", func(v url.Values) { v.Set("peer_address", "203.0.113.300") }, "peer_address", ""},
		{"missing PSK", func(v url.Values) { v.Del("psk") }, "psk", "missing"},
	}
	for _, c := range cases {
		v := goodTunnel()
		v.Set("csrf", tok)
		c.edit(v)
		st, _, body := h.post("/setup/tunnel", v)
		msg := fieldErr(body, c.field)
		if st != 422 || msg == "" || !strings.Contains(msg, c.want) {
			t.Errorf("%s: status %d, message next to %s = %q (want %q)", c.name, st, c.field, msg, c.want)
		}
		if strings.Contains(body, v.Get("psk")) && v.Get("psk") != "" {
			t.Errorf("%s: the typed PSK is echoed back", c.name)
		}
		if h.box.saveCount() != 0 {
			t.Fatalf("%s: saved despite errors", c.name)
		}
	}
	// JSON clients get the same errors with field names.
	v := goodTunnel()
	v.Set("psk", "short")
	st, _, body = h.do(h.c, "POST", "/api/setup/tunnel", v, map[string]string{"X-CSRF-Token": tok})
	var out struct{ Errors []apiError }
	json.Unmarshal([]byte(body), &out)
	if st != 422 || len(out.Errors) == 0 || out.Errors[0].Field != "psk" {
		t.Errorf("JSON weak PSK: %d %s", st, body)
	}
}

func TestSetupFlowToTunnelUp(t *testing.T) {
	h := newHarness(t)
	h.setup()
	if h.box.saveCount() != 1 {
		t.Fatalf("saves = %d, want 1", h.box.saveCount())
	}
	_, _, body := h.do(h.c, "GET", "/api/progress?after=0", nil, nil)
	var evs []ApplyEvent
	if err := json.Unmarshal([]byte(body), &evs); err != nil || len(evs) == 0 {
		t.Fatalf("progress: %v %s", err, body)
	}
	if last := evs[len(evs)-1]; !last.Done || last.State != "ok" {
		t.Errorf("last event %+v, want done ok", last)
	}
	// The setup session is now a login.
	if st, path, _ := h.get("/overview"); st != 200 || path != "/overview" {
		t.Errorf("overview after setup: %d at %s", st, path)
	}
	// Setup is closed.
	if _, path, _ := h.get("/setup"); path == "/setup" {
		t.Error("setup page still reachable after setup")
	}
	if h.box.CheckSetupCode("ABCD2345") {
		t.Error("setup code still valid after setup")
	}
}

func TestLoginCSRFAndRateLimit(t *testing.T) {
	h := newHarness(t)
	h.setup()
	other := h.client()
	if _, path, _ := h.do(other, "GET", "/tunnels", nil, nil); path != "/login" {
		t.Fatalf("unauthenticated /tunnels went to %s", path)
	}
	// Wrong passwords: the first few are answered, then the source waits.
	var st int
	for i := 0; i < freeFailures; i++ {
		st, _, _ = h.do(other, "POST", "/login", url.Values{"password": {"wrong password"}}, nil)
		if st != 422 {
			t.Fatalf("wrong password %d: status %d", i, st)
		}
	}
	h.do(other, "POST", "/login", url.Values{"password": {"wrong password"}}, nil)
	st, _, body := h.do(other, "POST", "/login", url.Values{"password": {"correct horse battery"}}, nil)
	if st != http.StatusTooManyRequests || !strings.Contains(body, "wait") {
		t.Errorf("after %d failures: status %d, want 429", freeFailures+1, st)
	}
	h.now = h.now.Add(time.Minute) // backoff over
	st, path, _ := h.do(other, "POST", "/login", url.Values{"password": {"correct horse battery"}}, nil)
	if st != 200 || path != "/" {
		t.Fatalf("login: %d at %s", st, path)
	}
	// Cross-site login is refused.
	if st, _, _ := h.do(h.client(), "POST", "/login", url.Values{"password": {"correct horse battery"}}, map[string]string{"Origin": "https://evil.example"}); st != 403 {
		t.Errorf("cross-site login: %d, want 403", st)
	}
	// State changes without the CSRF token are refused, and do nothing.
	before := len(h.box.actions)
	for _, p := range []string{"/tunnels/site1/reconnect", "/settings/reboot", "/tunnels/site1/delete", "/logout"} {
		st, at, _ := h.do(other, "POST", p, url.Values{"confirm": {"yes"}}, nil)
		if st != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d at %s, want 403", p, st, at)
		}
		st, _, _ = h.do(other, "POST", p, url.Values{"confirm": {"yes"}, "csrf": {"forged"}}, nil)
		if st != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token: %d, want 403", p, st)
		}
	}
	if len(h.box.actions) != before || h.box.saveCount() != 1 {
		t.Error("a request without CSRF token had an effect")
	}
	// With the token (header, JSON) it works.
	_, _, body = h.do(other, "GET", "/overview", nil, nil)
	tok := csrfRE.FindStringSubmatch(body)[1]
	st, _, body = h.do(other, "POST", "/api/tunnels/site1/reconnect", url.Values{"confirm": {"yes"}}, map[string]string{"X-CSRF-Token": tok})
	if st != 200 || !strings.Contains(body, `"ok": true`) {
		t.Errorf("reconnect with CSRF header: %d %s", st, body)
	}
	// Logout ends the session.
	h.do(other, "POST", "/logout", url.Values{"csrf": {tok}}, nil)
	if _, path, _ := h.do(other, "GET", "/overview", nil, nil); path != "/login" {
		t.Errorf("after logout /overview went to %s", path)
	}
	// Expiry.
	h.now = h.now.Add(sessionIdle + time.Minute)
	if _, path, _ := h.get("/overview"); path != "/login" {
		t.Errorf("idle session still valid: %s", path)
	}
}

func TestPasswordChange(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	st, _, body := h.post("/settings/password", url.Values{"csrf": {tok}, "current": {"nope nope nope"}, "password": {"new password 123"}, "confirm": {"new password 123"}})
	if st != 422 || fieldErr(body, "current") == "" {
		t.Errorf("wrong current password: %d %q", st, fieldErr(body, "current"))
	}
	st, _, _ = h.post("/settings/password", url.Values{"csrf": {tok}, "current": {"correct horse battery"}, "password": {"new password 123"}, "confirm": {"new password 123"}})
	if st != 200 || !adminVerify("new password 123", h.box.AdminHash()) {
		t.Errorf("password change: %d", st)
	}
}

func TestTunnelEditKeepsPSKAndConfirms(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	_, _, body := h.get("/tunnels/site1/edit")
	if !strings.Contains(body, "keep the stored key") {
		t.Error("edit form lacks the keep-the-stored-key placeholder")
	}
	v := goodTunnel()
	v.Del("psk")
	v.Set("csrf", tok)
	v.Set("remote_networks", "10.30.0.0/24")
	st, _, body := h.post("/tunnels/site1/edit", v)
	if st != 422 || fieldErr(body, "confirm") == "" {
		t.Errorf("edit without confirmation: %d", st)
	}
	v.Set("confirm", "yes")
	if st, path, _ := h.post("/tunnels/site1/edit", v); st != 200 || path != "/apply" {
		t.Errorf("edit: %d at %s", st, path)
	}
	if got := h.box.cfg.Tunnels[0]; got.PSK.Reveal() != goodPSK || got.RemoteNetworks[0].String() != "10.30.0.0/24" {
		t.Errorf("after edit: psk kept=%v nets=%v", got.PSK.Reveal() == goodPSK, got.RemoteNetworks)
	}
	// Delete asks first, then removes.
	_, _, body = h.get("/tunnels/site1/delete")
	if !strings.Contains(body, "traffic") {
		t.Error("delete confirmation has no warning")
	}
	h.post("/tunnels/site1/delete", url.Values{"csrf": {tok}})
	if len(h.box.cfg.Tunnels) != 1 {
		t.Error("delete without confirmation removed the tunnel")
	}
	h.post("/tunnels/site1/delete", url.Values{"csrf": {tok}, "confirm": {"yes"}})
	if len(h.box.cfg.Tunnels) != 0 {
		t.Error("delete with confirmation left the tunnel")
	}
}

// pages lists every GET a logged-in operator can reach.
func pages(h *harness) []string {
	ps := []string{"/overview", "/ipsec", "/logs", "/logs?window=all&kind=system", "/charts", "/charts?window=24h", "/tunnels", "/tunnels/new",
		"/tunnels/site1/edit", "/tunnels/site1/reconnect", "/tunnels/site1/delete", "/tunnels/site1/remote",
		"/settings", "/settings/reboot", "/settings/factory-reset", "/settings/restart-charon", "/settings/backup", "/apply", "/metrics", "/router"}
	for _, v := range remoteconfig.Vendors() {
		ps = append(ps, "/tunnels/site1/remote/"+v.ID)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p)
		if !strings.HasPrefix(p, "/metrics") && !strings.Contains(p, "/remote/") && p != "/settings/backup" {
			out = append(out, "/api"+p)
		}
	}
	return out
}

func TestPSKNeverShownAfterEntry(t *testing.T) {
	h := newHarness(t)
	h.setup()
	h.srv.Sample()
	for _, p := range pages(h) {
		st, _, body := h.get(p)
		if st != 200 {
			t.Errorf("GET %s: %d", p, st)
		}
		if strings.Contains(body, goodPSK) {
			t.Errorf("GET %s shows the PSK", p)
		}
	}
	// Nor in the web UI's own log, nor in the logs the box keeps.
	if strings.Contains(h.logs.String(), goodPSK) || !strings.Contains(h.logs.String(), "first configuration saved") {
		t.Errorf("server log carries the PSK or lacks the save line:\n%s", h.logs)
	}
	for _, l := range h.box.lines {
		if strings.Contains(l.Text, goodPSK) {
			t.Errorf("log line carries the PSK: %s", l.Text)
		}
	}
	_, _, body := h.get("/tunnels/site1/remote/strongswan")
	if !strings.Contains(body, PSKPlaceholder) {
		t.Error("remote config lacks the PSK placeholder")
	}
}

func TestRemoteConfigs(t *testing.T) {
	h := newHarness(t)
	h.setup()
	_, _, page := h.get("/tunnels/site1/remote")
	for _, v := range []string{"Juniper SRX", "MikroTik RouterOS", "VyOS / EdgeOS", "Cisco ASA", "strongSwan", "Libreswan"} {
		if !strings.Contains(page, v) {
			t.Errorf("the Remote config page does not offer %s", v)
		}
	}
	for _, v := range remoteconfig.Vendors() {
		_, _, body := h.get("/tunnels/site1/remote/" + v.ID)
		for _, want := range []string{"203.0.113.10", "10.20.0.0", "10.21.0.0", "100.64.0.0", PSKPlaceholder} {
			if v.ID == "cisco-ios" && want == "203.0.113.10" {
				continue // IOS names itself by its own address; the peer is the box
			}
			if !strings.Contains(body, want) {
				t.Errorf("%s config lacks %q:\n%s", v.ID, want, body)
			}
		}
		if strings.Contains(body, "<no value>") {
			t.Errorf("%s config has an empty template value:\n%s", v.ID, body)
		}
	}
}

func TestPrometheus(t *testing.T) {
	h := newHarness(t)
	h.setup()
	_, _, body := h.get("/metrics")
	for _, want := range []string{`tunneler_tunnel_up{tunnel="site1",peer="203.0.113.10"} 1`, "# TYPE tunneler_tunnel_bytes counter", "tunneler_memory_total_bytes 2147483648",
		`tunneler_tunnel_packets{tunnel="site1",direction="in"} 0`, `tunneler_tunnel_esp_silent{tunnel="site1"} 0`,
		fmt.Sprintf(`tunneler_tunnel_last_heartbeat_seconds{tunnel="site1"} %d`, h.now.Add(-10*time.Second).Unix())} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// The liveness band is green only while inbound ESP arrives: not when
// none was ever seen, not two minutes after the last, not while the
// tunnel sends unanswered.
func TestESPAlive(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		t    TunnelStatus
		want bool
	}{
		{"recent inbound", TunnelStatus{LastHeartbeat: now.Add(-10 * time.Second)}, true},
		{"never", TunnelStatus{}, false},
		{"stale", TunnelStatus{LastHeartbeat: now.Add(-3 * time.Minute)}, false},
		{"sending unanswered", TunnelStatus{LastHeartbeat: now.Add(-70 * time.Second), ESPSilent: true}, false},
	} {
		if got := espAlive(tc.t, now); got != tc.want {
			t.Errorf("%s: alive %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The Overview says when ESP last came in, and what to check when it
// does not.
func TestOverviewESPLiveness(t *testing.T) {
	h := newHarness(t)
	h.setup()
	_, _, body := h.get("/overview")
	if !strings.Contains(body, `<dd id="live-site1">10s ago</dd>`) || strings.Contains(body, `id="silent-site1"`) {
		t.Errorf("overview liveness:\n%s", body)
	}
	h.box.mu.Lock()
	h.box.silent = "site1"
	h.box.mu.Unlock()
	if _, _, body := h.get("/overview"); !strings.Contains(body, `<p class="reason" id="silent-site1">ESP from the remote device does not arrive: check that IP protocol 50 or UDP 4500 is allowed on the path, or turn on forced UDP encapsulation</p>`) {
		t.Errorf("overview of a silent tunnel lacks the message")
	}
}

// TestPageWeight: each page with everything it loads (the CSS and the
// script) stays under 150 KB.
func TestPageWeight(t *testing.T) {
	h := newHarness(t)
	_, _, code := h.get("/setup")
	h.setup()
	h.srv.Sample()
	_, _, css := h.get("/static/style.css")
	_, _, js := h.get("/static/app.js")
	if len(css) == 0 || len(js) == 0 {
		t.Fatal("static assets missing")
	}
	check := func(p, body string) {
		if !strings.Contains(body, "<html") {
			return
		}
		total := len(body) + len(css) + len(js)
		t.Logf("%-28s %6d bytes with assets", p, total)
		if total > 150*1024 {
			t.Errorf("%s weighs %d bytes", p, total)
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("%s refers to something outside the box", p)
		}
	}
	check("/setup", code)
	// Every step of the wizard, on a second box still in setup mode.
	w := newHarness(t)
	wtok := w.setupTo("router")
	w.post("/setup/router", url.Values{"csrf": {wtok}, "skip": {"1"}})
	for _, step := range setupSteps {
		_, path, body := w.get("/setup/" + step)
		if path != "/setup/"+step {
			t.Fatalf("/setup/%s led to %s", step, path)
		}
		check("/setup/"+step, body)
	}
	for _, p := range pages(h) {
		_, _, body := h.get(p)
		check(p, body)
	}
}

func TestRedirectHandler(t *testing.T) {
	for _, c := range []struct{ host, port, want string }{
		{"192.168.77.1", "443", "https://192.168.77.1/x?y=1"},
		{"192.168.77.1:80", "8443", "https://192.168.77.1:8443/x?y=1"},
		{"[fe80::1]:80", "443", "https://[fe80::1]/x?y=1"},
	} {
		req, _ := http.NewRequest("GET", "http://"+c.host+"/x?y=1", nil)
		req.Host = c.host
		rec := newRecorder()
		RedirectHandler(c.port).ServeHTTP(rec, req)
		if got := rec.Header().Get("Location"); got != c.want {
			t.Errorf("redirect %s: %q, want %q", c.host, got, c.want)
		}
	}
}

func TestBackupRestore(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	_, _, backup := h.get("/settings/backup")
	if strings.Contains(backup, goodPSK) || !strings.Contains(backup, `"psk": "(hidden)"`) || strings.Contains(backup, "$argon2id$") {
		t.Fatalf("backup carries a secret or lacks the placeholder:\n%s", backup)
	}
	restore := func(doc string, confirm bool) (int, string) {
		var b strings.Builder
		mw := multipart.NewWriter(&b)
		mw.WriteField("csrf", tok)
		mw.WriteField("generation", strconv.Itoa(h.box.generation()))
		if confirm {
			mw.WriteField("confirm", "yes")
		}
		fw, _ := mw.CreateFormFile("file", "backup.json")
		fw.Write([]byte(doc))
		mw.Close()
		req, _ := http.NewRequest("POST", h.ts.URL+"/settings/restore", strings.NewReader(b.String()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := h.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	// A changed backup restores onto this box and keeps the stored key.
	changed := strings.Replace(backup, "10.21.0.0/24", "10.22.0.0/24", 1)
	if st, _ := restore(changed, false); st != 422 {
		t.Errorf("restore without confirmation: %d", st)
	}
	if st, body := restore(changed, true); st != 200 {
		t.Fatalf("restore: %d %s", st, body)
	}
	if got := h.box.cfg.Tunnels[0]; got.PSK.Reveal() != goodPSK || got.RemoteNetworks[1].String() != "10.22.0.0/24" {
		t.Errorf("after restore: psk kept=%v nets=%v", got.PSK.Reveal() == goodPSK, got.RemoteNetworks)
	}
	// A backup with a problem is refused with the path, nothing saved.
	saves := h.box.saveCount()
	bad := strings.Replace(backup, "10.20.0.0/24", "10.20.0.0/33", 1)
	st, body := restore(bad, true)
	if st != 422 || !strings.Contains(fieldErr(body, "file"), "tunnels[0].remote_networks[0]") || h.box.saveCount() != saves {
		t.Errorf("bad restore: %d %q", st, fieldErr(body, "file"))
	}
}

func TestSettingsFieldErrors(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	st, _, body := h.post("/settings/system", url.Values{"csrf": {tok}, "hostname": {"-bad-"}, "ntp_servers": {"pool.ntp.org\nnot a host"}})
	if st != 422 || fieldErr(body, "hostname") == "" || !strings.Contains(fieldErr(body, "ntp_servers"), "line 2") {
		t.Errorf("system form: %d hostname=%q ntp=%q", st, fieldErr(body, "hostname"), fieldErr(body, "ntp_servers"))
	}
	st, _, body = h.post("/settings/network", url.Values{"csrf": {tok}, "confirm": {"yes"}, "wan_mode": {"static"}, "wan_address": {"10.20.0.5/24"}, "wan_gateway": {"10.20.0.1"}, "lan_mode": {"dhcp"}})
	if st != 422 || (fieldErr(body, "wan_address") == "" && !strings.Contains(body, "general-errors")) {
		t.Errorf("WAN inside a tunnel's remote network: %d %q", st, fieldErr(body, "wan_address"))
	}
	if h.box.saveCount() != 1 {
		t.Error("saved despite errors")
	}
}

func TestNormalizeSetupCode(t *testing.T) {
	for in, want := range map[string]string{"1234-5678": "12345678", " 1234 5678\n": "12345678", "abcd-2345": "ABCD2345", "": ""} {
		if got := NormalizeSetupCode(in); got != want {
			t.Errorf("NormalizeSetupCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// Enter in a wizard field submits the form's first submit button: it must
// be Next, never Back or Skip.
func TestSetupEnterMeansNext(t *testing.T) {
	h := newHarness(t)
	h.post("/setup", url.Values{"code": {"ABCD2345"}})
	tok := h.csrf()
	steps := goodSetupSteps()
	for _, s := range steps[:len(steps)-1] { // review posts the whole setup
		st, path, body := h.get("/setup/" + s.step)
		if st != 200 || path != "/setup/"+s.step {
			t.Fatalf("GET /setup/%s: %d at %s", s.step, st, path)
		}
		if s.step != "password" && !strings.Contains(body, ">Back</button>") {
			t.Errorf("%s: no Back button to test against", s.step)
		}
		i := strings.Index(body, `type="submit"`)
		start := strings.LastIndex(body[:max(i, 0)], "<button")
		if i < 0 || start < 0 {
			t.Fatalf("%s: no submit button", s.step)
		}
		end := strings.Index(body[i:], ">")
		if first := body[start : i+end]; !strings.Contains(first, `data-default`) || strings.Contains(first, "name=") {
			t.Errorf("%s: first submit button is %s>, want Next", s.step, first)
		}
		s.form.Set("csrf", tok)
		h.post("/setup/"+s.step, s.form)
	}
}
