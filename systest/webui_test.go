package systest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
	"github.com/tunneler/tunneler/webui"
)

const (
	boxLANMAC    = "52:54:00:00:0b:10"
	boxLAN       = "192.168.77.1" // netconf's fallback: no DHCP server on the LAN
	webPSK       = "Wv8sQ3nR6tYp2LzK9mXc4BdH7jFg"
	webAdminPass = "correct horse battery"
	chromium     = "/usr/bin/chromium"
)

// webLab is a fresh box in setup mode with its WAN on the "wan" bridge (a
// remote site's VPN device there) and its LAN on the "lan" bridge, a host
// on each side, and what the banner said.
type webLab struct {
	vm       *vmtest.VM
	lab      *vmtest.Lab
	site     *vmtest.RemoteSite
	lan, wan *vmtest.Host
	code, fp string
	client   *http.Client // from the LAN host
	base     string
}

func newWebLab(t testing.TB) *webLab {
	t.Helper()
	im := vmtest.LoadImage(t)
	lab := vmtest.NewLab(t)
	site := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN,
		SiteNet: "10.9.0.0/24", PSK: webPSK}
	rs := vmtest.NewRemoteSite(t, lab, "wan", site)
	w := &webLab{lab: lab, site: rs, base: "https://" + boxLAN}
	w.lan = lab.AddHost(t, "lan", "lanhost", "192.168.77.2/24")
	w.wan = lab.AddHost(t, "wan", "wanhost", "192.0.2.3/24")
	// The WAN host routes the LAN through the box: it must still get nothing.
	w.wan.Run(t, "ip", "route", "add", "192.168.77.0/24", "via", boxWAN)
	w.vm = vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, MemoryMiB: 768, Lab: lab,
		NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: boxLANMAC}}})
	m, err := w.vm.Console.Expect(regexp.MustCompile(`(?s)Web UI certificate SHA-256:\s+([0-9A-F:]{95}).*?Setup code: (\d{4}-\d{4})`), bootTimeout)
	if err != nil {
		t.Fatalf("no fingerprint and setup code on the banner: %v\n%s", err, w.vm.Console.Tail(40))
	}
	w.fp, w.code = m[1], m[2]
	w.client = vmtest.RecordHTTP(t, w.lan.HTTPClient())
	jar, _ := cookiejar.New(nil)
	w.client.Jar = jar
	return w
}

// waitWebUI waits until the box answers on the LAN's fallback address
// (taken 8 s after no DHCP answer, then bound within 2 s).
func (w *webLab) waitWebUI(t testing.TB) *http.Response {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := w.client.Get("http://" + boxLAN + "/overview?x=1")
		if err == nil {
			resp.Body.Close()
			return resp
		}
		if time.Now().After(deadline) {
			t.Fatalf("no web UI at http://%s/ from the LAN: %v\n%s", boxLAN, err, w.vm.Console.Tail(30))
		}
		time.Sleep(time.Second)
	}
}

// connectProxy is an HTTP CONNECT proxy on the test's loopback whose
// connections are made from inside h's namespace: Chromium runs on this
// host with --proxy-server and still reaches the box only as a LAN host
// would.
func connectProxy(t testing.TB, h *vmtest.Host) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(rw, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		var up net.Conn
		err := h.Do(func() error {
			var err error
			up, err = net.DialTimeout("tcp", r.Host, 10*time.Second)
			return err
		})
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := rw.(http.Hijacker)
		if !ok {
			up.Close()
			return
		}
		rw.WriteHeader(http.StatusOK)
		down, buf, err := hj.Hijack()
		if err != nil {
			up.Close()
			return
		}
		if n := buf.Reader.Buffered(); n > 0 {
			b, _ := buf.Reader.Peek(n)
			up.Write(b)
		}
		go func() { io.Copy(up, down); up.Close() }()
		io.Copy(down, up)
		down.Close()
	})}
	wg.Add(1)
	go func() { defer wg.Done(); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestWebUIFromLANOnly boots a fresh box with a LAN and a WAN NIC and
// checks the web UI's reach: HTTP on the LAN redirects to HTTPS, the
// certificate is the one the console banner names, and a host on the WAN
// side gets nothing on 80/443 of either address. Then Chromium, through
// the LAN host, runs the first-boot flow to a tunnel that comes up with
// the remote site, visits every page (screenshots in build/artifacts),
// brings up an AWS-style legacy device only with the legacy preset
// (browserLegacyDevice), and the key entered is in no page, API answer or
// console line.
func TestWebUIFirstBootInBrowser(t *testing.T) {
	requireTools(t)
	if _, err := os.Stat(chromium); err != nil {
		testenv.Skip(t, "no Chromium at "+chromium+" (Debian package chromium)")
	}
	w := newWebLab(t)

	// HTTP → HTTPS, on the LAN address.
	resp := w.waitWebUI(t)
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "https://"+boxLAN+"/overview") {
		t.Errorf("http://%s/overview answered %s, Location %q; want a redirect to https", boxLAN, resp.Status, loc)
	}
	// HTTPS with the banner's certificate; setup mode leads to the code.
	resp, err := w.client.Get(w.base + "/")
	if err != nil {
		t.Fatalf("https://%s/: %v", boxLAN, err)
	}
	resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatal("no TLS certificate")
	}
	if got := webui.Fingerprint(tls.Certificate{Certificate: [][]byte{resp.TLS.PeerCertificates[0].Raw}}); got != w.fp {
		t.Errorf("certificate fingerprint %s, banner says %s", got, w.fp)
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/setup") {
		t.Errorf("setup mode: / answered %s, Location %q", resp.Status, loc)
	}

	b := w.browserFirstBoot(t)
	w.browserLegacyDevice(t, b)
	w.checkNoKey(t)
	w.checkWANGetsNothing(t)
	w.browserTrialLapses(t, b)
}

// browser is headless Chromium on the LAN host (through a proxy there),
// writing numbered screenshots to the test's artifacts.
type browser struct {
	t   *testing.T
	w   *webLab
	ctx context.Context
	art string
	n   int
}

// newBrowser starts Chromium for the rest of the test. fresh drops the
// screenshots of earlier runs, so their numbers follow this run's flow.
func (w *webLab) newBrowser(t *testing.T, fresh bool) *browser {
	art := vmtest.ArtifactDir(t)
	old, _ := filepath.Glob(filepath.Join(art, "*.png"))
	if fresh {
		for _, pat := range []string{"*.txt", "*.html"} {
			extra, _ := filepath.Glob(filepath.Join(art, pat))
			old = append(old, extra...)
		}
		for _, f := range old {
			os.Remove(f)
		}
		old = nil
	}
	profile, err := os.MkdirTemp("", "tunneler-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	proxy := connectProxy(t, w.lan)
	opts := testenv.ChromiumOptions(profile)
	opts = append(opts, chromedp.ProxyServer("http://"+proxy)) // every connection from the LAN host
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 15*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	// The browser starts on the test-long context: steps' own timeouts
	// must not take it down with them.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &browser{t: t, w: w, ctx: ctx, art: art, n: len(old)}
}

// shot saves a full-page screenshot as the next numbered artifact, with
// the page's text and HTML beside it (NN-name.txt, .html): what a person
// reads, and what the secrets check at the end of the run searches.
func (b *browser) shot(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var buf []byte
		var text, html string
		if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
			return err
		}
		if err := chromedp.Evaluate(`document.body.innerText`, &text).Do(ctx); err != nil {
			return err
		}
		if err := chromedp.OuterHTML("html", &html, chromedp.ByQuery).Do(ctx); err != nil {
			return err
		}
		b.n++
		base := filepath.Join(b.art, fmt.Sprintf("%02d-%s", b.n, name))
		for ext, data := range map[string][]byte{".png": buf, ".txt": []byte(text), ".html": []byte(html)} {
			if err := os.WriteFile(base+ext, data, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

// run does one step, failing the test with the page and the console.
func (b *browser) run(step string, acts ...chromedp.Action) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, acts...); err != nil {
		var html string
		hctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		chromedp.Run(hctx, chromedp.OuterHTML("body", &html, chromedp.ByQuery), b.shot("failed"))
		b.t.Fatalf("%s: %v\npage:\n%.3000s\nconsole:\n%s", step, err, html, b.w.vm.Console.Tail(30))
	}
}

// errText is the error shown next to a form's field.
func (b *browser) errText(field string) string {
	var s string
	if err := chromedp.Run(b.ctx, chromedp.Text("#f-"+field+" .err", &s, chromedp.ByQuery)); err != nil {
		b.t.Fatalf("no error next to %s: %v", field, err)
	}
	return s
}

// browserFirstBoot drives Chromium through the wizard to a tunnel up and
// returns the browser, logged in.
func (w *webLab) browserFirstBoot(t *testing.T) *browser {
	b := w.newBrowser(t, true)
	run, shot, errText := b.run, b.shot, b.errText
	base := w.base
	vmtest.RegisterSecret(webAdminPass)  // typed, not posted by the API helpers
	vmtest.RegisterSecret("password123") // a weak PSK the form must refuse
	t.Logf("setup code from the banner: %s", w.code)
	run("setup code page", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#code", chromedp.ByID), shot("setup-code"))
	run("wrong code", chromedp.SendKeys("#code", "0000-0000", chromedp.ByID), chromedp.Submit("#code", chromedp.ByID),
		chromedp.WaitVisible("#f-code .err", chromedp.ByQuery), shot("setup-code-wrong"))
	if msg := errText("code"); !strings.Contains(msg, "not the code") {
		t.Errorf("wrong code message: %q", msg)
	}
	// As a person would: the page again, the code typed afresh.
	run("right code", chromedp.Navigate(base+"/setup"), chromedp.WaitVisible("#code", chromedp.ByID),
		chromedp.SendKeys("#code", w.code, chromedp.ByID), chromedp.Submit("#code", chromedp.ByID),
		chromedp.WaitVisible("#password", chromedp.ByID), shot("setup-password"))
	run("password", chromedp.SendKeys("#password", webAdminPass, chromedp.ByID),
		chromedp.SendKeys("#confirm", webAdminPass, chromedp.ByID), chromedp.Click("#next", chromedp.ByID),
		chromedp.WaitVisible("#wan_mode", chromedp.ByID))
	run("bad address", chromedp.SetValue("#wan_mode", "static", chromedp.ByID),
		chromedp.SetValue("#wan_address", "192.0.2.300/24", chromedp.ByID), chromedp.Click("#next", chromedp.ByID),
		chromedp.WaitVisible("#f-wan_address .err", chromedp.ByQuery), shot("setup-interfaces-bad-address"))
	// The WAN the remote site expects; the LAN keeps the address this
	// browser uses.
	run("interfaces", chromedp.SetValue("#wan_mode", "static", chromedp.ByID),
		chromedp.SetValue("#wan_address", boxWAN+"/24", chromedp.ByID),
		chromedp.SetValue("#wan_gateway", "192.0.2.1", chromedp.ByID),
		chromedp.SetValue("#lan_mode", "static", chromedp.ByID),
		chromedp.SetValue("#lan_address", boxLAN+"/24", chromedp.ByID),
		shot("setup-interfaces"),
		chromedp.Click("#next", chromedp.ByID), chromedp.WaitVisible("#peer_address", chromedp.ByID))
	run("weak key", chromedp.SetValue("#peer_address", "192.0.2.2", chromedp.ByID),
		chromedp.SendKeys("#psk", "password123", chromedp.ByID),
		chromedp.SetValue("#remote_networks", "10.9.0.0/24\n10.9.0.128/25", chromedp.ByID),
		chromedp.Click("#next", chromedp.ByID), chromedp.WaitVisible("#f-psk .err", chromedp.ByQuery), shot("setup-tunnel-errors"))
	for _, f := range []string{"psk", "remote_networks"} {
		if msg := errText(f); msg == "" {
			t.Errorf("no message next to %s", f)
		}
	}
	// The weak key is not echoed back: the field is empty again.
	run("tunnel", chromedp.WaitVisible("#psk", chromedp.ByID), chromedp.SendKeys("#psk", webPSK, chromedp.ByID),
		chromedp.SetValue("#remote_networks", "10.9.0.0/24", chromedp.ByID), shot("setup-tunnel"),
		chromedp.Click("#next", chromedp.ByID), chromedp.WaitVisible("#router-step", chromedp.ByID), shot("setup-router"))
	// A token that is no JWT: the box's own check, next to the field.
	run("bad router token", chromedp.SendKeys("#jwt", "eyJnot.a-token", chromedp.ByID), chromedp.Click("#next", chromedp.ByID),
		chromedp.WaitVisible("#f-jwt .err", chromedp.ByQuery), shot("setup-router-bad-jwt"))
	if msg := errText("jwt"); !strings.Contains(msg, "enrollment token") {
		t.Errorf("bad router token message: %q", msg)
	}
	var review string
	run("skip router", chromedp.Click("#skip", chromedp.ByID), chromedp.WaitVisible(".review", chromedp.ByQuery),
		chromedp.Text("#review-router", &review, chromedp.ByID), shot("setup-review"))
	if !strings.Contains(review, "not enrolled") {
		t.Errorf("after a refused token and Skip the review says of the router: %q", review)
	}
	applied := time.Now()
	run("apply", chromedp.Click("#next", chromedp.ByID), chromedp.WaitVisible("#apply-state[data-done]", chromedp.ByQuery), shot("setup-apply"))
	var state string
	run("state", chromedp.Text("#apply-state", &state, chromedp.ByID))
	if !strings.Contains(state, "Tunnel up") {
		t.Fatalf("apply ended with %q\nsite:\n%s\nconsole:\n%s", state, tail(w.site.Log(), 40), w.vm.Console.Tail(40))
	}
	t.Logf("setup submitted to tunnel up in the browser: %.1fs (%s)", time.Since(applied).Seconds(), state)

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
	} {
		var html string
		run(p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.wait, chromedp.ByQuery),
			chromedp.OuterHTML("html", &html, chromedp.ByQuery), shot(p.name))
		if strings.Contains(html, webPSK) {
			t.Errorf("%s shows the PSK", p.path)
		}
		if p.name == "overview" && !strings.Contains(html, "green") {
			t.Errorf("overview shows no green tunnel")
		}
	}
	w.browserDiagnostics(t, run, shot)
	run("phone overview", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/overview"),
		chromedp.WaitVisible(".card", chromedp.ByQuery), shot("overview-phone"), chromedp.EmulateViewport(1100, 900))
	run("logout", chromedp.Navigate(base+"/overview"), chromedp.WaitVisible("button.link", chromedp.ByQuery),
		chromedp.Click("button.link", chromedp.ByQuery), chromedp.WaitVisible("#loginform", chromedp.ByID), shot("login"))
	run("login", chromedp.SendKeys("#password", webAdminPass, chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(".card", chromedp.ByQuery))
	return b
}

// login opens an API session from the LAN host and returns its CSRF token.
func (w *webLab) login(t testing.TB) string {
	t.Helper()
	resp, err := w.client.PostForm(w.base+"/api/login", url.Values{"password": {webAdminPass}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		CSRF string `json:"csrf"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %s %v", resp.Status, err)
	}
	return ans.CSRF
}

// checkNoKey: the key typed in the browser is in no API answer and no
// console line.
func (w *webLab) checkNoKey(t *testing.T) {
	w.login(t)
	for _, p := range []string{"/api/overview", "/api/ipsec", "/api/tunnels", "/api/tunnels/site1/edit",
		"/api/logs?window=all", "/api/settings", "/settings/backup", "/tunnels/site1/remote/strongswan",
		"/api/progress?after=0", "/metrics"} {
		resp, err := w.client.Get(w.base + p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %s", p, resp.Status)
		}
		if strings.Contains(string(body), webPSK) {
			t.Errorf("%s answers the PSK", p)
		}
		if p == "/api/overview" && !regexp.MustCompile(`"colour":\s*"green"`).Match(body) {
			t.Errorf("overview API shows no green tunnel: %.400s", body)
		}
	}
	if strings.Contains(w.vm.Console.Output(), webPSK) {
		t.Error("the console log shows the PSK")
	}
}

// checkWANGetsNothing: from the WAN side, 80 and 443 of the box's WAN
// address and of its LAN address (routed through the box) get nothing.
func (w *webLab) checkWANGetsNothing(t *testing.T) {
	for _, addr := range []string{boxWAN, boxLAN} {
		for _, port := range []string{"80", "443"} {
			hp := net.JoinHostPort(addr, port)
			err := w.wan.Do(func() error {
				c, err := net.DialTimeout("tcp", hp, 3*time.Second)
				if err == nil {
					c.Close()
				}
				return err
			})
			if err == nil {
				t.Errorf("a WAN host connects to %s", hp)
			}
		}
	}
	// The LAN host still does: the failures above are not a dead box.
	if resp, err := w.client.Get(w.base + "/login"); err != nil {
		t.Errorf("LAN host after the WAN checks: %v", err)
	} else {
		resp.Body.Close()
	}
}
