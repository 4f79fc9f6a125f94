package systest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

const (
	restorePass = "a passphrase for the spare box"
	// Box B is another box: other NICs.
	boxBWANMAC = "52:54:00:00:0c:10"
	boxBLANMAC = "52:54:00:00:0d:10"
)

// TestRestoreOntoNewHardware is issue 14's disaster recovery: box A is
// set up through the JSON API with a tunnel to a stock strongSwan site
// and a router enrolled with a real controller (ziti edge quickstart),
// and makes an encrypted backup; A dies; a fresh box B with other MAC
// addresses is restored from the backup in the setup wizard, after a
// wrong passphrase is refused; B's tunnel comes up with A's PSK, which B
// never saw typed, and B's router connects with A's identity and no new
// token: the controller lists one router for the box, online. (The
// mapping of roles bound to MACs B lacks is in webui's TestSetupRestore
// and control's TestBackupRoundTrip.) B then shows an older generation
// restored across reboots (restoreGenerationAcrossReboots).
func TestRestoreOntoNewHardware(t *testing.T) {
	requireTools(t)
	w := newWebLab(t)
	ov := newOverlay(t, w.lab)
	jwt := ov.routerToken(boxRouter)
	w.waitWebUI(t)
	ans := w.post(t, "", "/api/setup", url.Values{"code": {w.code}})
	csrf, _ := ans["csrf"].(string)
	w.post(t, csrf, "/api/setup/password", url.Values{"password": {webAdminPass}, "confirm": {webAdminPass}})
	w.post(t, csrf, "/api/setup/interfaces", url.Values{"wan_mode": {"static"}, "wan_address": {boxWAN + "/24"},
		"wan_gateway": {"192.0.2.1"}, "lan_mode": {"static"}, "lan_address": {boxLAN + "/24"}})
	w.post(t, csrf, "/api/setup/tunnel", url.Values{"name": {"site1"}, "peer_address": {"192.0.2.2"},
		"psk": {webPSK}, "remote_networks": {"10.9.0.0/24"}})
	w.post(t, csrf, "/api/setup/router", url.Values{"jwt": {jwt}})
	w.post(t, csrf, "/api/setup/review", nil)
	e := w.waitApplied(t)
	t.Logf("box A: %s: %s", e.Step, e.Message)
	expect(t, w.vm, regexp.MustCompile(connectedRe), 3*time.Minute)
	fp := ov.boxRouterOnline(t, "")

	csrf = w.login(t)
	status, file := w.postRaw(t, csrf, "/api/settings/backup", url.Values{"backup_passphrase": {restorePass}, "backup_passphrase2": {restorePass}})
	if status != 200 || !bytes.HasPrefix(file, []byte("tunneler-backup\n")) {
		t.Fatalf("encrypted backup: %d %.200q", status, file)
	}
	if bytes.Contains(file, []byte(webPSK)) || bytes.Contains(file, []byte("PRIVATE KEY")) {
		t.Fatal("the encrypted backup holds the PSK or a private key in clear")
	}
	t.Logf("box A: backup of %d bytes", len(file))
	w.vm.Kill() // A's disk died

	// Box B: the same place in the network, other hardware, no config.
	b := &webLab{lab: w.lab, site: w.site, base: "https://" + boxLAN, lan: w.lan, wan: w.wan}
	b.vm = vmtest.Start(t, vmtest.LoadImage(t), vmtest.Options{Firmware: vmtest.Direct, MemoryMiB: 768, Lab: w.lab,
		NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxBWANMAC}, {Bridge: "lan", MAC: boxBLANMAC}}})
	m, err := b.vm.Console.Expect(regexp.MustCompile(`Setup code: (\d{4}-\d{4})`), bootTimeout)
	if err != nil {
		t.Fatalf("box B: no setup code on the banner: %v\n%s", err, b.vm.Console.Tail(40))
	}
	b.code = m[1]
	b.client = vmtest.RecordHTTP(t, b.lan.HTTPClient())
	jar, _ := cookiejar.New(nil)
	b.client.Jar = jar
	b.waitWebUI(t)
	ans = b.post(t, "", "/api/setup", url.Values{"code": {b.code}})
	csrf, _ = ans["csrf"].(string)

	status, errs := b.upload(t, csrf, "/api/setup/restore", map[string]string{"passphrase": "not the passphrase"}, file)
	if status != http.StatusUnprocessableEntity || !strings.Contains(errs["passphrase"], "wrong passphrase") {
		t.Fatalf("box B, wrong passphrase: %d %v", status, errs)
	}
	status, errs = b.upload(t, csrf, "/api/setup/restore", map[string]string{"passphrase": restorePass}, file)
	if status == http.StatusUnprocessableEntity && errs["mapping_confirm"] != "" {
		// Roles bound to A's MACs (the wizard binds none; a console or
		// provisioning file may): B asks to confirm their new NICs.
		t.Logf("box B: %s", errs["mapping_confirm"])
		status, errs = b.upload(t, csrf, "/api/setup/restore", map[string]string{"mapping_confirm": "yes"}, nil)
	}
	if status != 200 {
		t.Fatalf("box B, restore: %d %v", status, errs)
	}
	e = b.waitApplied(t)
	t.Logf("box B: %s: %s", e.Step, e.Message)
	if !strings.Contains(e.Message, "up") {
		t.Errorf("box B's tunnel: %s: %s", e.Step, e.Message)
	}
	// A's admin password logs in on B, and the history says restore.
	csrf = b.login(t)
	var h struct {
		History []struct {
			Source string `json:"source"`
		} `json:"history"`
	}
	b.getJSON(t, "/api/settings/history", &h)
	if len(h.History) == 0 || h.History[0].Source != "restore" {
		t.Errorf("box B's history: %+v, want its generation from restore", h.History)
	}

	// B's router: A's enrolled identity, no new token. The controller
	// takes the connection over from A's (dead, not yet timed out) once
	// its churn limit (a minute after A connected) has passed.
	start := time.Now()
	expect(t, b.vm, regexp.MustCompile(connectedRe), 4*time.Minute)
	t.Logf("box B: router connected %.0fs after the restore was applied", time.Since(start).Seconds())
	ov.boxRouterOnline(t, fp)
	if out := b.vm.Console.Output(); strings.Contains(out, "router: enrollment started") {
		t.Error("box B enrolled its router again; the backup's identity should need no token")
	}

	b.restoreGenerationAcrossReboots(t)
}

// boxRouterOnline waits until the controller lists exactly one edge
// router besides the quickstart's own, named boxRouter, online and
// enrolled, with fingerprint fp when fp is not "", and returns its
// fingerprint. One router, not two: a restored box is the same router.
func (o *overlay) boxRouterOnline(t *testing.T, fp string) string {
	t.Helper()
	type router struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		IsOnline    bool   `json:"isOnline"`
		IsVerified  bool   `json:"isVerified"`
		Fingerprint string `json:"fingerprint"`
	}
	var box []router
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(2 * time.Second) {
		out := o.mustZiti("edge", "list", "edge-routers", "-j")
		var ans struct{ Data []router }
		if err := json.Unmarshal([]byte(out[max(0, strings.Index(out, "{")):]), &ans); err != nil {
			t.Fatalf("ziti edge list edge-routers -j: %v\n%s", err, out)
		}
		box = box[:0]
		for _, r := range ans.Data {
			if r.Name != qsRouter {
				box = append(box, r)
			}
		}
		if len(box) != 1 || box[0].Name != boxRouter {
			t.Fatalf("the controller lists %d routers besides %s, want one, %s: %+v", len(box), qsRouter, boxRouter, box)
		}
		if box[0].IsOnline && box[0].IsVerified && (fp == "" || box[0].Fingerprint == fp) {
			t.Logf("controller: one router for the box, %s (%s), online", box[0].Name, box[0].ID)
			return box[0].Fingerprint
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller does not show %s online and enrolled (fingerprint %s): %+v", boxRouter, fp, box)
		}
	}
}

const (
	yPSK      = "Yq4mT8vN2cR6wL9sB3xK7dF5hJ1p"
	changePSK = "Cz7nW2qL5vR8tY3mK6bX9dH4jF1s"
)

// restoreGenerationAcrossReboots is issue 14's history bar on a box with
// the tunnel site1 up (X): a generation with tunnels X and Y; then X
// changed (another PSK, another DPD delay) and Y replaced by Z; a reboot;
// the older generation restored through the API; the box then runs X
// and Y exactly (the tunnels the API lists, what charon has loaded, site1
// up again with its old key), and still after a further reboot.
func (w *webLab) restoreGenerationAcrossReboots(t *testing.T) {
	csrf := w.login(t)
	w.change(t, csrf, "/api/tunnels/new", url.Values{"name": {"branch-y"}, "peer_address": {"192.0.2.21"},
		"psk": {yPSK}, "remote_networks": {"10.21.0.0/24"}})
	genXY, _ := history(t, w.client, w.base)
	xy := w.tunnelsJSON(t)
	w.waitRuns(t, xy, []string{"branch-y", "site1"})

	w.change(t, csrf, "/api/tunnels/site1/edit", url.Values{"name": {"site1"}, "peer_address": {"192.0.2.2"},
		"psk": {changePSK}, "remote_networks": {"10.9.0.0/24"}, "dpd_delay": {"45s"}, "confirm": {"yes"}})
	w.change(t, csrf, "/api/tunnels/branch-y/delete", url.Values{"confirm": {"yes"}})
	w.change(t, csrf, "/api/tunnels/new", url.Values{"name": {"branch-z"}, "peer_address": {"192.0.2.22"},
		"psk": {yPSK}, "remote_networks": {"10.22.0.0/24"}})
	xz := w.tunnelsJSON(t)
	if bytes.Equal(xy, xz) {
		t.Fatalf("the change to X' and Z left the tunnels as they were: %s", xz)
	}
	w.waitRuns(t, xz, []string{"branch-z", "site1"})

	w.reboot(t)
	csrf = apiLogin(t, w.client, w.base, webAdminPass, 2*time.Minute)
	w.waitRuns(t, xz, []string{"branch-z", "site1"})
	ans := w.change(t, csrf, "/api/settings/history/"+itoa(int64(genXY))+"/restore", url.Values{"confirm": {"yes"}, "trial_minutes": {"0"}})
	t.Logf("generation %d (X, Y) restored: %v", genXY, ans)
	w.waitRuns(t, xy, []string{"branch-y", "site1"})
	w.waitColour(t, "site1", "green")
	gen, h := history(t, w.client, w.base)
	if e, ok := findGeneration(h, gen); !ok || e.RestoredFrom != genXY || !e.Current {
		t.Errorf("the history's current generation %d is not restored from %d: %+v", gen, genXY, h)
	}

	w.reboot(t)
	apiLogin(t, w.client, w.base, webAdminPass, 2*time.Minute)
	w.waitRuns(t, xy, []string{"branch-y", "site1"})
	w.waitColour(t, "site1", "green")
	if g, _ := history(t, w.client, w.base); g != gen {
		t.Errorf("after the reboot the box runs generation %d, want %d", g, gen)
	}
}

// tunnelsJSON is the tunnels GET /api/tunnels lists (keys hidden).
func (w *webLab) tunnelsJSON(t *testing.T) []byte {
	t.Helper()
	var v struct {
		Tunnels json.RawMessage `json:"tunnels"`
	}
	w.getJSON(t, "/api/tunnels", &v)
	return v.Tunnels
}

// waitRuns waits until the API lists tunnels and charon has loaded
// exactly conns (the status's charon_conns).
func (w *webLab) waitRuns(t *testing.T, tunnels []byte, conns []string) {
	t.Helper()
	var got []byte
	var st struct {
		CharonConns []string `json:"charon_conns"`
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(2 * time.Second) {
		got = w.tunnelsJSON(t)
		w.getJSON(t, "/api/ipsec", &st)
		if bytes.Equal(got, tunnels) && slices.Equal(st.CharonConns, conns) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the box runs tunnels %s with charon's connections %q; want %s with %q\n%s",
				got, st.CharonConns, tunnels, conns, w.vm.Console.Tail(30))
		}
	}
}

// waitColour waits until the API shows tunnel in colour.
func (w *webLab) waitColour(t *testing.T, tunnel, colour string) {
	t.Helper()
	got := ""
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if got = w.apiColour(t, tunnel); got == colour {
			return
		}
	}
	t.Fatalf("tunnel %s never became %s (last %q)\n%s", tunnel, colour, got, w.vm.Console.Tail(30))
}

// reboot restarts the box with ctrl-alt-del and waits for its web UI.
func (w *webLab) reboot(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := w.vm.CtrlAltDel(); err != nil {
		t.Fatal(err)
	}
	expect(t, w.vm, regexp.MustCompile(`/perm unmounted cleanly`), shutdownTimeout)
	expect(t, w.vm, bannerRe, bootTimeout)
	waitAnswers(t, w.client, w.base, 2*time.Minute)
	t.Logf("rebooted in %.0fs", time.Since(start).Seconds())
}

// postRaw posts a form to the JSON API and returns the raw answer.
func (w *webLab) postRaw(t testing.TB, csrf, path string, v url.Values) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// upload posts a multipart form with a file (nil: none) to the JSON API
// and returns the status and the field errors by field.
func (w *webLab) upload(t testing.TB, csrf, path string, fields map[string]string, file []byte) (int, map[string]string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		registerSecretFields(url.Values{k: {v}})
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "box-a.tunneler-backup")
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, w.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Accept", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var ans struct {
		Errors []struct{ Field, Message string } `json:"errors"`
	}
	json.NewDecoder(resp.Body).Decode(&ans)
	errs := map[string]string{}
	for _, e := range ans.Errors {
		errs[e.Field] += e.Message
	}
	return resp.StatusCode, errs
}
