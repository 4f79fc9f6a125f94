package webui

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/update"
)

var fwKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// fwBundle makes a bundle of small parts for board, built at built.
func fwBundle(t *testing.T, key ed25519.PrivateKey, version, board string, built time.Time) []byte {
	t.Helper()
	m := update.Manifest{Version: version, Board: board, Built: built, Cmdline: "console=ttyS0"}
	for _, n := range update.PartNames {
		sum := sha256.Sum256([]byte(n + " of " + version))
		m.Parts = append(m.Parts, update.Part{Name: n, Size: int64(len(n + " of " + version)), SHA256: hex.EncodeToString(sum[:])})
	}
	var buf bytes.Buffer
	if err := update.WriteFrom(&buf, key, m, func(name string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(name + " of " + version)), nil
	}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type fakeLoader struct{ trial string }

func (l *fakeLoader) Name() string                             { return "fake loader" }
func (l *fakeLoader) WriteEntry(string, update.Manifest) error { return nil }
func (l *fakeLoader) Trial(slot string) error                  { l.trial = slot; return nil }
func (l *fakeLoader) EndTrial(string) error                    { return nil }
func (l *fakeLoader) Commit(string) error                      { return nil }

// fwHarness is a logged-in web UI over a real update.Firmware on a
// temporary ESP running v1 from slot a.
func fwHarness(t *testing.T) (*harness, string, string, *fakeLoader, *[]string) {
	h := newHarness(t)
	tok := h.setup()
	esp := t.TempDir()
	os.MkdirAll(filepath.Join(esp, "a"), 0o755)
	l := &fakeLoader{}
	reboots := new([]string)
	h.srv.opt.Firmware = &update.Firmware{
		Installer: &update.Installer{ESP: esp, Running: "a", Board: "generic", Key: fwKey.Public().(ed25519.PublicKey),
			Version: "v1", Built: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Loader: l, Reboot: func(r string) { *reboots = append(*reboots, r) },
	}
	return h, tok, esp, l, reboots
}

func (h *harness) put(path, tok string, body []byte) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest("PUT", h.ts.URL+path, bytes.NewReader(body))
	if tok != "" {
		req.Header.Set("X-CSRF-Token", tok)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestFirmwareUploadAndBoot(t *testing.T) {
	h, tok, esp, l, reboots := fwHarness(t)
	b := fwBundle(t, fwKey, "v2", "generic", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	st, out := h.put("/api/firmware", tok, b)
	if st != 200 {
		t.Fatalf("upload: %d %v", st, out)
	}
	sum := sha256.Sum256(b)
	if out["sha256"] != hex.EncodeToString(sum[:]) || out["version"] != "v2" || out["board"] != "generic" || out["slot"] != "b" {
		t.Errorf("answer %v, want sha256 %x of v2 for generic in slot b", out, sum)
	}
	if v, _ := out["verified"].([]any); len(v) != 6 {
		t.Errorf("verified %v", out["verified"])
	}
	if data, _ := os.ReadFile(filepath.Join(esp, "b", "initrd")); string(data) != "initrd of v2" {
		t.Errorf("slot b initrd %q", data)
	}
	_, _, page := h.get("/firmware")
	for _, want := range []string{`id="fw-result"`, hex.EncodeToString(sum[:]), "v2 (slot b", `href="/firmware/boot?version=v2"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the Firmware page lacks %q", want)
		}
	}
	if st, _, body := h.post("/firmware/boot?version=v2", url.Values{"csrf": {tok}}); st != 422 || fieldErr(body, "confirm") == "" || l.trial != "" {
		t.Errorf("boot without confirmation: %d, trial %q", st, l.trial)
	}
	if st, _, body := h.post("/firmware/boot?version=v2", url.Values{"csrf": {tok}, "confirm": {"yes"}, "window": {"90"}}); st != 422 || !strings.Contains(fieldErr(body, "window"), "choose between 1m0s and 1h0m0s") || l.trial != "" {
		t.Errorf("boot with a 90-minute window: %d %q, trial %q", st, fieldErr(body, "window"), l.trial)
	}
	if st, _, body := h.post("/firmware/boot?version=v2", url.Values{"csrf": {tok}, "confirm": {"yes"}, "window": {"4"}}); st != 200 || !strings.Contains(body, "Rebooting into v2") {
		t.Errorf("boot: %d\n%s", st, body)
	}
	if l.trial != "b" || len(*reboots) != 1 {
		t.Errorf("trial %q, reboots %q", l.trial, *reboots)
	}
	if tr := h.srv.opt.Firmware.Status(); tr.Last == nil || !strings.Contains(tr.Last.Detail, "within 4m0s") {
		t.Errorf("the trial does not carry the 4-minute window asked for: %+v", tr.Last)
	}
}

func TestTrialWindow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"", 0, ""},
		{"15", 15 * time.Minute, ""},
		{" 3m ", 3 * time.Minute, ""},
		{"90s", 90 * time.Second, ""},
		{"0.5", 0, "neither minutes nor a duration"},
		{"soon", 0, "neither minutes nor a duration"},
		{"120", 0, "choose between"},
		{"20s", 0, "choose between"},
	} {
		got, err := trialWindow(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("trialWindow(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("trialWindow(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFirmwareUploadRefused(t *testing.T) {
	good := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	valid := fwBundle(t, fwKey, "v2", "generic", good)
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		says   string
	}{
		{"another key", fwBundle(t, other, "v2", "generic", good), 422, "signed by another key"},
		{"another board", fwBundle(t, fwKey, "v2", "qemu", good), 422, `built for board "qemu"`},
		{"older", fwBundle(t, fwKey, "v0", "generic", good.AddDate(-1, 0, 0)), 422, "ask for a downgrade"},
		{"truncated", valid[:len(valid)/2], 422, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, tok, esp, _, _ := fwHarness(t)
			st, out := h.put("/api/firmware", tok, tc.body)
			errs, _ := out["errors"].([]any)
			msg := ""
			if len(errs) == 1 {
				msg, _ = errs[0].(map[string]any)["message"].(string)
			}
			if st != tc.status || !strings.Contains(msg, tc.says) {
				t.Errorf("%d %q, want %d saying %q", st, msg, tc.status, tc.says)
			}
			if entries, _ := os.ReadDir(filepath.Join(esp, "b")); len(entries) != 0 {
				t.Errorf("slot b has %d files after a refusal", len(entries))
			}
		})
	}
}

func TestFirmwareUploadNeedsCSRFAndLogin(t *testing.T) {
	h, _, _, _, _ := fwHarness(t)
	b := fwBundle(t, fwKey, "v2", "generic", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if st, _ := h.put("/api/firmware", "", b); st != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d, want 403", st)
	}
	h.c = h.client() // no session
	if st, _ := h.put("/api/firmware", "x", b); st != http.StatusUnauthorized {
		t.Errorf("without a session: %d, want 401", st)
	}
}

func TestFirmwarePageWithoutUpdates(t *testing.T) {
	h := newHarness(t)
	h.setup()
	if _, _, body := h.get("/firmware"); !strings.Contains(body, `id="fw-unavailable"`) {
		t.Error("the Firmware page without Options.Firmware does not say updates are unavailable")
	}
}
