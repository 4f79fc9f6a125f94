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

	"github.com/chromedp/chromedp"

	"github.com/tunneler/tunneler/appliance/update"
	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

// initStartRe is init's first line on the console, once per boot.
var initStartRe = regexp.MustCompile(`Tunneler \S+ starting \(kernel took`)

// nextBundle builds, from this tree, the update bundle of a later version
// than the image (mkimage -update-only, signed with the same key as the
// image) and returns its path and version. suffix names the version;
// broken builds a firmware that never starts charon (mkimage -test-break),
// for the rollback tests.
func nextBundle(t testing.TB, im *vmtest.Image, suffix string, broken bool) (string, string) {
	t.Helper()
	build, err := vmtest.BuildDir()
	if err != nil {
		t.Fatal(err)
	}
	version := im.Manifest.Version + suffix
	args := []string{filepath.Join(build, ".image.lock"), "go", "run", "./image/mkimage",
		"-board", vmtest.Board(), "-build", build, "-version", version, "-update-only"}
	if broken {
		args = append(args, "-test-break", "charon")
	}
	cmd := exec.Command("flock", args...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the bundle of %s: %v\n%s", version, err, out)
	}
	path := filepath.Join(build, "update-"+vmtest.Board(), "tunneler-"+version+".update")
	if broken {
		// The next build of the same folder would replace its init: keep
		// this bundle apart.
		kept := path + ".broken"
		if err := os.Rename(path, kept); err != nil {
			t.Fatal(err)
		}
		path = kept
	}
	return path, version
}

// newUpdateLab boots a box (opts: its firmware, and a disk and EFI
// variables to keep when it is to be started again) with a tunnel up to a
// stock strongSwan site, set up over the API, and logs the API in. It
// returns the options the box was started with.
func newUpdateLab(t testing.TB, im *vmtest.Image, opts vmtest.Options) (*webLab, string, vmtest.Options) {
	t.Helper()
	lab := vmtest.NewLab(t)
	site := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: webPSK}
	w := &webLab{lab: lab, site: vmtest.NewRemoteSite(t, lab, "wan", site), base: "https://" + boxLAN}
	w.lan = lab.AddHost(t, "lan", "lanhost", "192.168.77.2/24")
	opts.MemoryMiB, opts.Lab = 768, lab
	opts.NICs = []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: boxLANMAC}}
	w.vm = vmtest.Start(t, im, opts)
	m := expect(t, w.vm, regexp.MustCompile(`Setup code: (\d{4}-\d{4})`), bootTimeout)
	w.code = m[1]
	w.client = vmtest.RecordHTTP(t, w.lan.HTTPClient())
	jar, _ := cookiejar.New(nil)
	w.client.Jar = jar
	w.waitWebUI(t)
	csrf := w.apiSetup(t)
	w.post(t, csrf, "/api/setup/review", nil)
	w.waitApplied(t) // the tunnel is up
	return w, apiLogin(t, w.client, w.base, webAdminPass, time.Minute), opts
}

// expectBoot reads the next boot's banner, from its init's first line
// (the banner is reprinted within a boot), and checks what runs.
func (w *webLab) expectBoot(t testing.TB, version, slot string) string {
	t.Helper()
	from := len(w.vm.Console.Output())
	expect(t, w.vm, initStartRe, bootTimeout)
	m := expect(t, w.vm, bannerRe, bootTimeout+time.Minute)
	if m[1] != version || m[2] != slot {
		t.Fatalf("the box booted %s from slot %s, want %s from %s", m[1], m[2], version, slot)
	}
	expect(t, w.vm, regexp.MustCompile(`[Pp]ress Enter here for the console menu`), 10*time.Second)
	return string(w.vm.Console.Output()[from:])
}

// rollBackFrom uploads a firmware that never starts charon, boots it as a
// trial with a one-minute window, and checks that the box comes back to
// the firmware it ran (version, slot) by itself, with the tunnel up and
// the reason on the banner, the console, the API and the alarms.
func (w *webLab) rollBackFrom(t *testing.T, im *vmtest.Image, version, slot string) {
	t.Helper()
	path, broken := nextBundle(t, im, "-broken", true)
	bundle, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	csrf := apiLogin(t, w.client, w.base, webAdminPass, time.Minute)
	// The broken build may predate a rebuilt image: ask for a downgrade.
	if status, ans := w.put(t, csrf, "/api/firmware?downgrade=yes", bundle); status != 200 || ans["version"] != broken {
		t.Fatalf("upload of %s: %d %v", broken, status, ans)
	}
	start := time.Now()
	w.post(t, csrf, "/api/firmware/boot?version="+url.QueryEscape(broken)+"&window=1m", url.Values{"confirm": {"yes"}})
	w.expectBoot(t, broken, update.Other(slot))
	expect(t, w.vm, regexp.MustCompile(`charon is never started`), time.Minute)
	failed := expect(t, w.vm, regexp.MustCompile(`firmware trial failed its health gate; rolling back[^\n]*`), 3*time.Minute)
	if !strings.Contains(failed[0], "tunnel site1 not up after 1m0s") {
		t.Errorf("the health gate failed with %q; want it to name tunnel site1", failed[0])
	}
	out := w.expectBoot(t, version, slot)
	why := "update to " + broken + " rolled back: tunnel site1 not up after 1m0s"
	for _, want := range []string{" PROBLEM:    " + why, " Firmware:   slot " + update.Other(slot) + " holds " + broken + "; last: " + why} {
		if !strings.Contains(out, want) {
			t.Errorf("the banner after the rollback lacks %q:\n%s", want, out)
		}
	}
	expect(t, w.vm, regexp.MustCompile(`ALARM firmware raised: `+regexp.QuoteMeta(why)), 2*time.Minute)
	expect(t, w.vm, regexp.MustCompile(`tunnel name=site1 status=green`), 2*time.Minute)
	t.Logf("a firmware that cannot bring the tunnel up was rolled back, and the tunnel was up again, %.0fs after the trial reboot was asked for", time.Since(start).Seconds())
	apiLogin(t, w.client, w.base, webAdminPass, time.Minute)
	st := w.firmware(t)
	if st.Running.Version != version || st.Running.Slot != slot || st.Last == nil || st.Last.Outcome != "rolled back" || !strings.Contains(st.Last.Detail, "tunnel site1") {
		t.Errorf("after the rollback: running %+v, last %+v", st.Running, st.Last)
	}
}

// put sends body as the streamed body of PUT path with the CSRF token.
func (w *webLab) put(t testing.TB, csrf, path string, body []byte) (int, map[string]any) {
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

func (w *webLab) firmware(t testing.TB) update.Status {
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

// TestFirmwareUpdateInBrowser: a box under UEFI with a tunnel up takes a
// later build through the Firmware page in Chromium (a tampered copy is
// refused over the API first, with nothing written), reboots into it once
// as a trial, and keeps it once the tunnel is up again; a plain reboot
// then starts it again. A later firmware that never starts charon is then
// rolled back by the box itself.
func TestFirmwareUpdateInBrowser(t *testing.T) {
	requireTools(t)
	if _, err := os.Stat(chromium); err != nil {
		testenv.Skip(t, "no Chromium at "+chromium+" (Debian package chromium)")
	}
	im := vmtest.LoadImage(t)
	bundlePath, next := nextBundle(t, im, "-next", false)
	bundle, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	w, csrf, _ := newUpdateLab(t, im, vmtest.Options{Firmware: vmtest.UEFI})
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

	// The real one, through the page: progress, then what was verified.
	b := w.newBrowser(t, true)
	b.run("login", chromedp.Navigate(w.base+"/login"), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", webAdminPass, chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(".card", chromedp.ByQuery))
	b.run("firmware page", chromedp.Navigate(w.base+"/firmware"), chromedp.WaitVisible("#fw-upload", chromedp.ByID), b.shot("firmware-before"))
	start := time.Now()
	b.run("upload", chromedp.SetUploadFiles("#fw-file", []string{bundlePath}, chromedp.ByID), chromedp.Click("#fw-send", chromedp.ByID),
		chromedp.WaitVisible("#fw-progress", chromedp.ByID),
		chromedp.Poll(`document.getElementById("fw-progress").value > 0`, nil, chromedp.WithPollingInterval(50*time.Millisecond)),
		b.shot("firmware-uploading"))
	var progress string
	b.run("progress", chromedp.Text("#fw-state", &progress, chromedp.ByID))
	if !strings.HasPrefix(progress, "Upload") {
		t.Errorf("while uploading the page says %q", progress)
	}
	b.run("verified", chromedp.WaitVisible("#fw-result", chromedp.ByID), b.shot("firmware-verified"))
	sum := sha256.Sum256(bundle)
	var shown string
	b.run("digest", chromedp.Text("#fw-sha256", &shown, chromedp.ByID))
	if shown != hex.EncodeToString(sum[:]) {
		t.Errorf("the page shows SHA-256 %s, want %x", shown, sum)
	}
	t.Logf("%d MiB uploaded, verified and written through the page in %.1fs", len(bundle)>>20, time.Since(start).Seconds())
	if st := w.firmware(t); st.Other.Version != next || st.Last == nil || st.Last.Outcome != "installed" {
		t.Errorf("after the upload: other %+v, last %+v", st.Other, st.Last)
	}
	b.run("reboot confirmation", chromedp.Click("#fw-boot", chromedp.ByID), chromedp.WaitVisible("#confirmform", chromedp.ByID), b.shot("firmware-confirm"))
	b.run("reboot", chromedp.Click(`#f-confirm input[name="confirm"]`, chromedp.ByQuery), chromedp.Submit("#confirmform", chromedp.ByID))

	w.expectBoot(t, next, "b")
	gate := expect(t, w.vm, regexp.MustCompile(`firmware trial (passed|failed) its health gate[^\n]*`), update.DefaultWindow+time.Minute)
	if gate[1] != "passed" {
		t.Fatalf("the trial did not pass its health gate: %s", gate[0])
	}
	t.Logf("upload start to the tunnel up again on %s and committed: %.0fs", next, time.Since(start).Seconds())
	waitAnswers(t, w.client, w.base, time.Minute)
	b.run("login again", chromedp.Navigate(w.base+"/login"), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", webAdminPass, chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(".card", chromedp.ByQuery))
	var last string
	b.run("firmware page after the trial", chromedp.Navigate(w.base+"/firmware"), chromedp.WaitVisible("#fw-last", chromedp.ByID),
		chromedp.Text("#fw-last", &last, chromedp.ByID), b.shot("firmware-committed"))
	if !strings.Contains(last, "update to "+next+" committed") {
		t.Errorf("the Firmware page's last update says %q", last)
	}
	apiLogin(t, w.client, w.base, webAdminPass, time.Minute)
	st = w.firmware(t)
	if st.Running.Version != next || st.Running.Slot != "b" || st.Last == nil || st.Last.Outcome != "committed" {
		t.Errorf("after the trial: running %+v, last %+v", st.Running, st.Last)
	}

	// Committed: a plain reboot starts the new firmware again.
	if err := w.vm.CtrlAltDel(); err != nil {
		t.Fatal(err)
	}
	w.expectBoot(t, next, "b")
	expect(t, w.vm, regexp.MustCompile(`tunnel name=site1 status=green`), 2*time.Minute)

	w.rollBackFrom(t, im, next, "b")
	waitAnswers(t, w.client, w.base, time.Minute)
	b.run("login after the rollback", chromedp.Navigate(w.base+"/login"), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", webAdminPass, chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(".card", chromedp.ByQuery))
	b.run("firmware page after the rollback", chromedp.Navigate(w.base+"/firmware"), chromedp.WaitVisible("#fw-last", chromedp.ByID),
		chromedp.Text("#fw-last", &last, chromedp.ByID), b.shot("firmware-rolled-back"))
	if !strings.Contains(last, "rolled back: tunnel site1 not up after 1m0s") {
		t.Errorf("the Firmware page's last update after the rollback says %q", last)
	}
}

// TestFirmwareRollbackBIOS: under BIOS (syslinux, whose one-shot init
// ends), a firmware that never starts charon is rolled back by the box
// itself to the one it ran, which brings the tunnel up again.
func TestFirmwareRollbackBIOS(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	w, _, _ := newUpdateLab(t, im, vmtest.Options{Firmware: vmtest.BIOS})
	w.rollBackFrom(t, im, im.Manifest.Version, "a")
}

// BenchmarkFirmwareUpdate: a box under UEFI with a tunnel up takes a
// later build over the API; the figure is the time from the upload's
// start to the trial committed with the tunnel up again (upload, verify,
// write, reboot, health gate).
func BenchmarkFirmwareUpdate(b *testing.B) {
	requireTools(b)
	im := vmtest.LoadImage(b)
	path, next := nextBundle(b, im, "-next", false)
	bundle, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for i := 0; i < b.N; i++ {
		w, csrf, _ := newUpdateLab(b, im, vmtest.Options{Firmware: vmtest.UEFI})
		start := time.Now()
		if status, ans := w.put(b, csrf, "/api/firmware", bundle); status != 200 {
			b.Fatalf("upload: %d %v", status, ans)
		}
		w.post(b, csrf, "/api/firmware/boot?version="+url.QueryEscape(next), url.Values{"confirm": {"yes"}})
		w.expectBoot(b, next, "b")
		expect(b, w.vm, regexp.MustCompile(`firmware trial passed its health gate`), update.DefaultWindow+time.Minute)
		total += time.Since(start).Seconds()
		w.vm.Kill()
	}
	b.ReportMetric(total/float64(b.N), "s-upload-to-tunnel-up-again")
}
