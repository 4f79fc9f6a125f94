package webui

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/backup"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

const backupPass = "a long enough backup passphrase"

// upload posts a multipart form with a file to path as c.
func (h *harness) upload(c *http.Client, path string, fields map[string]string, file []byte) (int, string, string) {
	h.t.Helper()
	return h.uploadNamed(c, path, fields, "box.tunneler-backup", file)
}

// uploadNamed is upload with the file's name.
func (h *harness) uploadNamed(c *http.Client, path string, fields map[string]string, name string, file []byte) (int, string, string) {
	h.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", h.ts.URL+path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(out)
}

// The history lists each generation with where it came from and what
// changed, a key only as "changed"; restoring one asks for one
// confirmation and goes on trial by default.
func TestHistoryRestore(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	f := goodTunnel()
	f.Set("csrf", tok)
	f.Set("psk", "Zr8-Mv3qTx6WpL2kHc9JbN4sYd")
	f.Set("peer_address", "203.0.113.77")
	f.Set("confirm", "yes")
	if st, _, body := h.post("/tunnels/site1/edit", f); st != 200 || strings.Contains(body, `class="err"`) {
		t.Fatalf("edit tunnel: %d %s", st, body)
	}
	_, _, page := h.get("/settings")
	for _, want := range []string{`id="gen-1"`, `id="gen-2"`, "tunnels[site1].psk: changed", "203.0.113.77", `href="/settings/history/1/restore"`} {
		if !strings.Contains(page, want) {
			t.Errorf("Settings page lacks %q", want)
		}
	}
	if strings.Contains(page, goodPSK) || strings.Contains(page, "Zr8-Mv3qTx6WpL2kHc9JbN4sYd") {
		t.Error("the history shows a key")
	}
	_, _, api := h.do(h.c, "GET", "/api/settings/history", nil, nil)
	if !strings.Contains(api, `"generation": 2`) || strings.Contains(api, goodPSK) || strings.Contains(api, "Zr8-Mv3q") {
		t.Errorf("API history: %s", api)
	}

	// The confirmation page, then the restore without and with the tick.
	if st, _, body := h.get("/settings/history/1/restore"); st != 200 || !strings.Contains(body, `id="confirmform"`) || !strings.Contains(body, `name="trial" value="on" checked`) {
		t.Fatalf("confirmation page: %d %s", st, body)
	}
	saves := h.box.saveCount()
	st, _, body := h.post("/settings/history/1/restore", url.Values{"csrf": {tok}})
	if st != 422 || fieldErr(body, "confirm") == "" || h.box.saveCount() != saves {
		t.Fatalf("restore without the tick: %d %q", st, fieldErr(body, "confirm"))
	}
	st, _, body = h.post("/settings/history/1/restore", url.Values{"csrf": {tok}, "confirm": {"yes"}, "trial_form": {"1"}, "trial": {"on"}, "trial_minutes": {"5"}})
	if st != 200 {
		t.Fatalf("restore: %d %s", st, body)
	}
	if got := h.box.cfg.Tunnels[0]; got.PSK.Reveal() != goodPSK || got.PeerAddress != "203.0.113.10" {
		t.Errorf("after restoring generation 1: peer %s, key back %v", got.PeerAddress, got.PSK.Reveal() == goodPSK)
	}
	if n := len(h.box.trials); h.box.trials[n-1] != control.DefaultTrial || h.box.sources[n-1] != control.FromRestore {
		t.Errorf("restore saved with trial %v from %q, want %v from restore", h.box.trials[n-1], h.box.sources[n-1], control.DefaultTrial)
	}
	// The API restores with If-Match; a stale one is refused.
	st, _, _ = h.do(h.c, "POST", "/api/settings/history/2/restore", url.Values{"csrf": {tok}, "confirm": {"yes"}, "generation": nil},
		map[string]string{"If-Match": etag(1), "X-CSRF-Token": tok})
	if st != http.StatusConflict {
		t.Errorf("stale API restore: %d, want 409", st)
	}
}

// The encrypted download needs POST and the passphrase twice; a GET is
// the readable download without secrets.
func TestEncryptedBackupDownload(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	tests := []struct {
		name, pass, again, field string
	}{
		{"no passphrase", "", "", "backup_passphrase"},
		{"typed differently", backupPass, backupPass + "x", "backup_passphrase2"},
		{"too short", "short pass", "short pass", "backup_passphrase"},
	}
	for _, tt := range tests {
		st, _, body := h.post("/settings/backup", url.Values{"csrf": {tok}, "backup_passphrase": {tt.pass}, "backup_passphrase2": {tt.again}})
		if st != 422 || fieldErr(body, tt.field) == "" {
			t.Errorf("%s: %d, %s: %q", tt.name, st, tt.field, fieldErr(body, tt.field))
		}
	}
	if st, _, body := h.post("/settings/backup", url.Values{"backup_passphrase": {backupPass}, "backup_passphrase2": {backupPass}}); st != 403 {
		t.Errorf("download without the CSRF token: %d %.100s", st, body)
	}
	_, _, plain := h.get("/settings/backup?backup_passphrase=" + url.QueryEscape(backupPass))
	if strings.Contains(plain, "tunneler-backup") || !strings.Contains(plain, "(hidden)") {
		t.Error("GET gave something other than the readable download")
	}
	st, _, file := h.post("/settings/backup", url.Values{"csrf": {tok}, "backup_passphrase": {backupPass}, "backup_passphrase2": {backupPass}})
	if st != 200 || !strings.HasPrefix(file, "tunneler-backup\n") || strings.Contains(file, goodPSK) {
		t.Fatalf("download: %d %.60q", st, file)
	}
	got, err := backup.Import(strings.NewReader(file), backupPass)
	if err != nil || got.Config.Tunnels[0].PSK.Reveal() != goodPSK {
		t.Fatalf("the download does not open to this box's config with its key: %v", err)
	}
}

// makeBackup is box A's encrypted backup: the setup harness's config on
// NICs A1 (WAN) and A2 (LAN).
func makeBackup(t *testing.T) []byte {
	t.Helper()
	a := newHarness(t)
	tok := a.setup()
	c := a.box.cfg
	c.Interfaces = []config.Interface{{Role: config.RoleWAN, MAC: "52:54:00:aa:00:01", Mode: config.ModeDHCP},
		{Role: config.RoleLAN, MAC: "52:54:00:aa:00:02", Mode: config.ModeDHCP}}
	a.box.cfg = c
	_, _, file := a.post("/settings/backup", url.Values{"csrf": {tok}, "backup_passphrase": {backupPass}, "backup_passphrase2": {backupPass}})
	return []byte(file)
}

// A fresh box restores from the backup in the setup wizard: every bad
// input has its message next to its field and changes nothing; other
// NICs need the mapping confirmed; then the box has A's config and keys,
// and the setup session is a login.
func TestSetupRestore(t *testing.T) {
	file := makeBackup(t)
	h := newHarness(t)
	h.box.nics = []string{"52:54:00:bb:00:01", "52:54:00:bb:00:02"}
	if st, _, _ := h.post("/setup", url.Values{"code": {"abcd-2345"}}); st != 200 {
		t.Fatal("setup code")
	}
	tok := h.csrf()
	if _, _, body := h.get("/setup/password"); !strings.Contains(body, `href="/setup/restore"`) {
		t.Error("the wizard does not offer a restore")
	}
	tampered := bytes.Clone(file)
	tampered[len(tampered)-30] ^= 1
	bad := []struct {
		name, pass string
		file       []byte
		field      string
		want       string
	}{
		{"no file", backupPass, nil, "file", "choose a backup file"},
		{"wrong passphrase", "not the right passphrase", file, "passphrase", "wrong passphrase"},
		{"truncated", backupPass, file[:len(file)/2], "file", "cut short"},
		{"tampered", backupPass, tampered, "file", "damaged or was altered"},
		{"plain settings download", backupPass, []byte(config.Config{Version: config.CurrentVersion}.String()), "file", "without secrets"},
	}
	for _, tt := range bad {
		st, _, body := h.upload(h.c, "/setup/restore", map[string]string{"csrf": tok, "passphrase": tt.pass}, tt.file)
		if st != 422 || !strings.Contains(fieldErr(body, tt.field), tt.want) {
			t.Errorf("%s: %d, %s: %q, want %q", tt.name, st, tt.field, fieldErr(body, tt.field), tt.want)
		}
	}
	if h.box.saveCount() != 0 {
		t.Fatal("a bad backup was saved")
	}
	st, _, body := h.upload(h.c, "/setup/restore", map[string]string{"csrf": tok, "passphrase": backupPass}, file)
	if st != 422 || !strings.Contains(body, "which this box lacks: now on 52:54:00:bb:00:01") || fieldErr(body, "mapping_confirm") == "" || h.box.saveCount() != 0 {
		t.Fatalf("other NICs: %d, mapping: %q", st, fieldErr(body, "mapping_confirm"))
	}
	st, path, body := h.upload(h.c, "/setup/restore", map[string]string{"csrf": tok, "mapping_confirm": "yes"}, nil)
	if st != 200 || path != "/apply" {
		t.Fatalf("confirmed mapping: %d %s %s", st, path, body)
	}
	c := h.box.cfg
	if c.Tunnels[0].PSK.Reveal() != goodPSK || c.Interfaces[1].MAC != "52:54:00:bb:00:02" || string(h.box.restoredFiles["ziti/identity/key.pem"]) != "router key" {
		t.Errorf("restored: key %v, LAN on %s, files %v", c.Tunnels[0].PSK.Reveal() == goodPSK, c.Interfaces[1].MAC, h.box.restoredFiles)
	}
	if st, path, _ := h.get("/settings"); st != 200 || path != "/settings" {
		t.Errorf("after the restore the session is not a login: %d %s", st, path)
	}
}

// On a configured box's Settings page, a wrong passphrase is said next to
// its field and nothing changes; the right one restores on trial.
func TestSettingsRestoreBackup(t *testing.T) {
	file := makeBackup(t)
	h := newHarness(t)
	tok := h.setup()
	saves := h.box.saveCount()
	form := map[string]string{"csrf": tok, "generation": strconv.Itoa(h.box.generation()), "confirm": "yes", "passphrase": "wrong passphrase here"}
	st, _, body := h.upload(h.c, "/settings/restore", form, file)
	if st != 422 || !strings.Contains(fieldErr(body, "passphrase"), "wrong passphrase") || h.box.saveCount() != saves {
		t.Fatalf("wrong passphrase: %d %q", st, fieldErr(body, "passphrase"))
	}
	form["passphrase"] = backupPass
	if st, path, body := h.upload(h.c, "/settings/restore", form, file); st != 200 || path != "/apply" {
		t.Fatalf("restore: %d %s %s", st, path, body)
	}
	if n := len(h.box.trials); h.box.trials[n-1] != control.DefaultTrial || h.box.sources[n-1] != control.FromRestore {
		t.Errorf("restore saved with trial %v from %q, want %v from restore", h.box.trials[n-1], h.box.sources[n-1], control.DefaultTrial)
	}
}
