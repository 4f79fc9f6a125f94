package systest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/update"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

// initStartRe is init's first line on the console, once per boot.
var initStartRe = regexp.MustCompile(`Tunneler \S+ starting \(kernel took`)

// nextBundle builds, from this tree, the update bundle of a later version
// than the image (mkimage -update-only, signed with the same key as the
// image) and returns its path and version.
func nextBundle(t *testing.T, im *vmtest.Image) (string, string) {
	t.Helper()
	build, err := vmtest.BuildDir()
	if err != nil {
		t.Fatal(err)
	}
	version := im.Manifest.Version + "-next"
	cmd := exec.Command("flock", filepath.Join(build, ".image.lock"), "go", "run", "./image/mkimage",
		"-board", vmtest.Board(), "-build", build, "-version", version, "-update-only")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the next version's bundle: %v\n%s", err, out)
	}
	return filepath.Join(build, "update-"+vmtest.Board(), "tunneler-"+version+".update"), version
}

// put sends body as the streamed body of PUT path with the CSRF token.
func (w *webLab) put(t *testing.T, csrf, path string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, w.base+path, bytes.NewReader(body))
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Content-Type", "application/octet-stream")
	// The answer comes once the whole bundle is in and checked: tens of
	// MiB through TLS under TCG take longer than the lab client's 15 s.
	c := *w.client
	c.Timeout = 5 * time.Minute
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", path, err)
	}
	defer resp.Body.Close()
	var ans map[string]any
	json.NewDecoder(resp.Body).Decode(&ans)
	return resp.StatusCode, ans
}

func (w *webLab) firmware(t *testing.T) update.Status {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.base+"/api/firmware", nil)
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("GET /api/firmware: %v", err)
	}
	defer resp.Body.Close()
	var v struct {
		Available bool          `json:"available"`
		Status    update.Status `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || !v.Available {
		t.Fatalf("GET /api/firmware: %s, available %v, %v", resp.Status, v.Available, err)
	}
	return v.Status
}

// TestFirmwareUpdateOverAPI: a box under UEFI with a tunnel up takes a
// later build over PUT /api/firmware (a tampered copy is refused first,
// with nothing written), reboots into it once as a trial, and keeps it
// once the tunnel is up again: the banner, the API and the next boot all
// run the new version from slot b.
func TestFirmwareUpdateOverAPI(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	bundlePath, next := nextBundle(t, im)
	bundle, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}

	lab := vmtest.NewLab(t)
	site := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: webPSK}
	w := &webLab{lab: lab, site: vmtest.NewRemoteSite(t, lab, "wan", site), base: "https://" + boxLAN}
	w.lan = lab.AddHost(t, "lan", "lanhost", "192.168.77.2/24")
	w.vm = vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.UEFI, MemoryMiB: 768, Lab: lab,
		NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: boxLANMAC}}})
	m := expect(t, w.vm, regexp.MustCompile(`Setup code: (\d{4}-\d{4})`), bootTimeout)
	w.code = m[1]
	w.client = vmtest.RecordHTTP(t, w.lan.HTTPClient())
	jar, _ := cookiejar.New(nil)
	w.client.Jar = jar
	w.waitWebUI(t)
	csrf := w.apiSetup(t)
	w.post(t, csrf, "/api/setup/review", nil)
	w.waitApplied(t) // the tunnel is up
	csrf = apiLogin(t, w.client, w.base, webAdminPass, time.Minute)

	st := w.firmware(t)
	if st.Running.Slot != "a" || st.Running.Version != im.Manifest.Version || !st.Other.Empty || !st.CanSwitch {
		t.Fatalf("before the update: %+v", st)
	}

	// A tampered copy: one byte of the last part flipped.
	bad := bytes.Clone(bundle)
	bad[len(bad)-4096] ^= 0x01
	status, ans := w.put(t, csrf, "/api/firmware", bad)
	if status != http.StatusUnprocessableEntity || !strings.Contains(ans["errors"].([]any)[0].(map[string]any)["message"].(string), "extras.sqfs has SHA-256") {
		t.Errorf("tampered bundle: %d %v; want 422 naming the part's SHA-256", status, ans)
	}
	if st := w.firmware(t); !st.Other.Empty {
		t.Errorf("after the refusal the other slot holds %+v", st.Other)
	}

	start := time.Now()
	status, ans = w.put(t, csrf, "/api/firmware", bundle)
	sum := sha256.Sum256(bundle)
	if status != 200 || ans["sha256"] != hex.EncodeToString(sum[:]) || ans["version"] != next || ans["slot"] != "b" {
		t.Fatalf("upload: %d %v; want sha256 %x of %s into slot b", status, ans, sum, next)
	}
	t.Logf("%d MiB uploaded, verified and written in %.1fs", len(bundle)>>20, time.Since(start).Seconds())
	if st := w.firmware(t); st.Other.Version != next || st.Last == nil || st.Last.Outcome != "installed" {
		t.Errorf("after the upload: other %+v, last %+v", st.Other, st.Last)
	}

	w.post(t, csrf, "/api/firmware/boot?version="+url.QueryEscape(next), url.Values{"confirm": {"yes"}})
	// The banner is printed again when the web UI rebinds: read on from
	// the next init's first line, not from a reprint of this boot's.
	expect(t, w.vm, initStartRe, bootTimeout)
	m = expect(t, w.vm, bannerRe, bootTimeout+time.Minute)
	if m[1] != next || m[2] != "b" {
		t.Fatalf("trial boot: banner says %s from slot %s, want %s from b", m[1], m[2], next)
	}
	gate := expect(t, w.vm, regexp.MustCompile(`firmware trial (passed|failed) its health gate[^\n]*`), update.DefaultWindow+time.Minute)
	if gate[1] != "passed" {
		t.Fatalf("the trial did not pass its health gate: %s", gate[0])
	}

	csrf = apiLogin(t, w.client, w.base, webAdminPass, time.Minute)
	st = w.firmware(t)
	if st.Running.Version != next || st.Running.Slot != "b" || st.Last == nil || st.Last.Outcome != "committed" {
		t.Errorf("after the trial: running %+v, last %+v", st.Running, st.Last)
	}
	_ = csrf

	// Committed: a plain reboot starts the new firmware again.
	if err := w.vm.CtrlAltDel(); err != nil {
		t.Fatal(err)
	}
	expect(t, w.vm, initStartRe, bootTimeout)
	m = expect(t, w.vm, bannerRe, bootTimeout+time.Minute)
	if m[1] != next || m[2] != "b" {
		t.Errorf("after the commit a reboot starts %s from slot %s, want %s from b", m[1], m[2], next)
	}
}
