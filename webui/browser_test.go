package webui

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/diag"
	"github.com/tunneler/tunneler/scripts/testenv"
)

// TestBrowserFirstBoot drives Debian's Chromium through the first-boot
// flow: wrong setup code, field errors (bad address, weak PSK, overlapping
// networks, bad peer address), a generated key, apply until the tunnel is
// up, then every page, checking the key never shows again. Screenshots go
// to build/artifacts/webui/.
//
// By default it runs against an httptest TLS server on loopback with the
// fake Box. Set TUNNELER_WEBUI_URL (e.g. https://192.168.77.1) and
// TUNNELER_SETUP_CODE to run the same flow against a booted image.
func TestBrowserFirstBoot(t *testing.T) {
	base, code := os.Getenv("TUNNELER_WEBUI_URL"), os.Getenv("TUNNELER_SETUP_CODE")
	var fake *fakeBox
	if base == "" {
		fake = newFakeBox()
		box := &routerBox{fakeBox: fake} // enrolls a router at apply
		dg := &fakeDiag{runner: &diag.Runner{Config: func() config.Config { c, _, _ := fake.Config(); return c }, WAN: func() []string { return []string{"eth0"} }},
			job: func(r diag.Request) diag.Job {
				return &fakeJob{lines: []string{"PING " + r.Target + " from 100.64.0.1 through tunnel " + r.Tunnel + ": 3 echo requests",
					"reply from " + r.Target + ": seq=1 time=4.2 ms", "reply from " + r.Target + ": seq=2 time=3.9 ms",
					"reply from " + r.Target + ": seq=3 time=4.0 ms", r.Target + ": 3 sent, 3 received, rtt min/avg/max 3.9 ms/4.0 ms/4.2 ms"}}
			}}
		s, err := New(Options{Appliance: box, Version: "browser-test", Hash: cheapHash, Logf: t.Logf, Diag: dg})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewTLSServer(s.Handler()) // 127.0.0.1 only
		defer ts.Close()
		base, code = ts.URL, box.code
		fillHistory(s.Recorder(), time.Now().Add(-26*time.Minute)) // something to see on Metrics
	}
	b := newBrowser(t, "webui")
	run, shot, errText := b.run, b.shot, b.errText

	run("setup code page", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#code", chromedp.ByID), shot("setup-code"))
	run("wrong code", chromedp.SendKeys("#code", "WRONG-0000", chromedp.ByID), chromedp.Submit("#code", chromedp.ByID),
		chromedp.WaitVisible("#f-code .err", chromedp.ByQuery), shot("setup-code-wrong"))
	if msg := errText("code"); !strings.Contains(msg, "not the code") {
		t.Errorf("wrong code message: %q", msg)
	}
	run("right code", chromedp.SetValue("#code", code, chromedp.ByID), chromedp.Submit("#code", chromedp.ByID),
		chromedp.WaitVisible("#password", chromedp.ByID), shot("setup-password"))
	run("password", chromedp.SendKeys("#password", "correct horse battery", chromedp.ByID),
		chromedp.SendKeys("#confirm", "correct horse battery", chromedp.ByID), chromedp.Click("#next", chromedp.ByID),
		chromedp.WaitVisible("#wan_mode", chromedp.ByID))

	// A bad address, next to its field.
	run("bad address", chromedp.SetValue("#wan_mode", "static", chromedp.ByID),
		chromedp.SetValue("#wan_address", "192.0.2.300/24", chromedp.ByID), chromedp.Click("#next", chromedp.ByID),
		chromedp.WaitVisible("#f-wan_address .err", chromedp.ByQuery), shot("setup-interfaces-bad-address"))
	if msg := errText("wan_address"); msg == "" {
		t.Error("no message next to the WAN address")
	}
	run("interfaces", chromedp.SetValue("#wan_mode", "dhcp", chromedp.ByID),
		chromedp.Click("#next", chromedp.ByID), chromedp.WaitVisible("#peer_address", chromedp.ByID), shot("setup-tunnel"))

	// Weak PSK, overlapping networks and a bad peer address at once.
	run("tunnel with mistakes",
		chromedp.SetValue("#peer_address", "203.0.113.300", chromedp.ByID),
		chromedp.SendKeys("#psk", "password123", chromedp.ByID),
		chromedp.SetValue("#remote_networks", "10.20.0.0/24\n10.20.0.128/25", chromedp.ByID),
		chromedp.Click("#next", chromedp.ByID), chromedp.WaitVisible("#f-psk .err", chromedp.ByQuery), shot("setup-tunnel-errors"))
	for _, f := range []string{"psk", "remote_networks", "peer_address"} {
		if msg := errText(f); msg == "" {
			t.Errorf("no message next to %s", f)
		}
	}
	var psk string
	run("generate key", chromedp.Click("[data-gen]", chromedp.ByQuery),
		chromedp.WaitVisible("#f-psk small.warn", chromedp.ByQuery), chromedp.Value("#psk", &psk, chromedp.ByID), shot("setup-tunnel-generated-psk"))
	if len(psk) < 20 {
		t.Fatalf("generated key %q", psk)
	}
	run("fix tunnel", chromedp.SetValue("#peer_address", "203.0.113.10", chromedp.ByID),
		chromedp.SetValue("#remote_networks", "10.20.0.0/24\n10.21.0.0/24", chromedp.ByID),
		chromedp.Click("#next", chromedp.ByID), chromedp.WaitVisible("#router-step", chromedp.ByID), shot("setup-router"))
	// A token that is no JWT: the reason next to the field, nothing kept.
	run("bad router token", chromedp.SendKeys("#jwt", "not-a-token", chromedp.ByID), chromedp.Click("#next", chromedp.ByID),
		chromedp.WaitVisible("#f-jwt .err", chromedp.ByQuery), shot("setup-router-bad-jwt"))
	if msg := errText("jwt"); !strings.Contains(msg, "malformed") {
		t.Errorf("bad token message: %q", msg)
	}
	var review string
	if fake != nil {
		// The fake box enrolls a token of the right shape at apply.
		run("router token", chromedp.SendKeys("#jwt", "eyJhbGciOiJSUzI1NiJ9.eyJlbSI6ImVyb3R0In0.c2ln", chromedp.ByID),
			chromedp.Click("#next", chromedp.ByID), chromedp.WaitVisible(".review", chromedp.ByQuery),
			chromedp.Text("#review-router", &review, chromedp.ByID), shot("setup-review"))
		if !strings.Contains(review, "enrolled at apply") {
			t.Errorf("review says of the router: %q", review)
		}
	} else {
		run("skip router", chromedp.Click("#skip", chromedp.ByID), chromedp.WaitVisible(".review", chromedp.ByQuery), shot("setup-review"))
	}
	run("apply", chromedp.Click("#next", chromedp.ByID),
		chromedp.WaitVisible(`#apply-state[data-done="ok"]`, chromedp.ByQuery), shot("setup-apply-tunnel-up"))
	var state string
	run("state", chromedp.Text("#apply-state", &state, chromedp.ByID))
	if !strings.Contains(state, "Tunnel up") {
		t.Errorf("apply ended with %q", state)
	}
	if fake != nil && !strings.Contains(state, "router enrolled") {
		t.Errorf("apply did not say the router was enrolled: %q", state)
	}

	// Every page, and the key is nowhere.
	for _, p := range []struct{ path, wait, name string }{
		{"/overview", ".card", "overview"},
		{"/ipsec", "#ipsec-site1", "ipsec"},
		{"/tunnels", "#tun-site1", "tunnels"},
		{"/tunnels/new", "#tunnelform", "tunnel-new"},
		{"/tunnels/site1/edit", "#tunnelform", "tunnel-edit"},
		{"/tunnels/site1/reconnect", "#warning", "tunnel-reconnect-confirm"},
		{"/tunnels/site1/delete", "#warning", "tunnel-delete-confirm"},
		{"/tunnels/site1/remote", ".vendors", "remote-config"},
		{"/logs?window=all", "#loglines", "logs"},
		{"/charts", ".chart", "metrics"},
		{"/settings", "#netform", "settings"},
		{"/settings/factory-reset", "#warning", "factory-reset-confirm"},
		{"/settings/reboot", "#warning", "reboot-confirm"},
		{"/router", "#router-status", "router"},
		{"/certificates", "#certs-status", "certificates"},
	} {
		var html string
		run(p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.wait, chromedp.ByQuery),
			chromedp.OuterHTML("html", &html, chromedp.ByQuery), shot(p.name))
		if strings.Contains(html, psk) {
			t.Errorf("%s shows the PSK", p.path)
		}
	}
	// Live tail: a new line shows up without reloading.
	if fake != nil {
		run("tail on", chromedp.Navigate(base+"/logs?window=all"), chromedp.WaitVisible("#tail", chromedp.ByID), chromedp.Click("#tail", chromedp.ByID))
		fake.log(KindCharon, "tail-test: IKE_SA site1[7] established")
		run("tail line", chromedp.WaitVisible(`//td[contains(., "tail-test")]`, chromedp.BySearch), shot("logs-live-tail"))
		// Diagnostics: a ping's output streams into the page; a target
		// outside the tunnel is refused with the tunnel's networks.
		var out string
		run("diagnostics ping", chromedp.Navigate(base+"/diagnostics"), chromedp.WaitVisible("#diag-ping", chromedp.ByID),
			chromedp.SetValue("#ping-target", "10.20.0.5", chromedp.ByID), chromedp.SetValue("#ping-count", "3", chromedp.ByID),
			chromedp.Click("#diag-ping button", chromedp.ByQuery), chromedp.WaitVisible(`#diag-state[data-done="ok"]`, chromedp.ByQuery),
			chromedp.Text("#diag-out", &out, chromedp.ByID), shot("diagnostics-ping"))
		if !strings.Contains(out, "3 sent, 3 received") {
			t.Errorf("diagnostics output: %q", out)
		}
		var dlShown bool
		run("no capture yet", chromedp.Evaluate(`getComputedStyle(document.getElementById("capture-download")).display !== "none"`, &dlShown))
		if dlShown {
			t.Errorf("the page offers a capture download before any capture")
		}
		run("diagnostics refused", chromedp.SetValue("#traceroute-target", "192.0.2.1", chromedp.ByID),
			chromedp.Click("#diag-traceroute button", chromedp.ByQuery), chromedp.WaitVisible(`#diag-state[data-done="failed"]`, chromedp.ByQuery),
			chromedp.Text("#diag-state", &out, chromedp.ByID), shot("diagnostics-refused"))
		if !strings.Contains(out, "not behind tunnel site1") {
			t.Errorf("diagnostics refusal: %q", out)
		}
	}
	run("phone overview", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/overview"),
		chromedp.WaitVisible(".card", chromedp.ByQuery), shot("overview-phone"), chromedp.EmulateViewport(1100, 900))
	// Log out, and back in.
	run("logout", chromedp.Navigate(base+"/overview"), chromedp.WaitVisible("button.link", chromedp.ByQuery),
		chromedp.Click("button.link", chromedp.ByQuery), chromedp.WaitVisible("#loginform", chromedp.ByID), shot("login"))
	run("login", chromedp.SendKeys("#password", "correct horse battery", chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(".card", chromedp.ByQuery))
}

// browser is a headless Chromium for a test, with its screenshot folder.
type browser struct {
	run     func(step string, acts ...chromedp.Action)
	shot    func(name string) chromedp.Action
	errText func(field string) string
}

// newBrowser starts Chromium (the test skips without it); screenshots go
// to build/artifacts/DIR/, numbered in the order they are taken.
func newBrowser(t *testing.T, dir string) browser {
	const chromium = "/usr/bin/chromium"
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no Chromium at " + chromium)
	}
	art := filepath.Join("..", "build", "artifacts", dir)
	os.RemoveAll(art) // only this run's screenshots: the numbers follow the flow
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: Chromium's helpers may still write there while the
	// test's cleanup runs, and a failed RemoveAll would fail the test.
	profile, err := os.MkdirTemp("", "tunneler-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := testenv.ChromiumOptions(profile)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(cancel)

	n := 0
	var b browser
	b.shot = func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			n++
			return os.WriteFile(filepath.Join(art, pad(n)+"-"+name+".png"), buf, 0o644)
		})
	}
	b.run = func(step string, acts ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, acts...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	b.errText = func(field string) string {
		t.Helper()
		var s string
		if err := chromedp.Run(ctx, chromedp.Text("#f-"+field+" .err", &s, chromedp.ByQuery)); err != nil {
			t.Fatalf("no error next to %s: %v", field, err)
		}
		return s
	}
	return b
}

func pad(n int) string {
	if n < 10 {
		return "0" + itoa(n)
	}
	return itoa(n)
}
