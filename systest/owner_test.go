package systest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/webui"
)

// The box has one owner of its running state (appliance/control): these
// checks run on TestWebUISetupAPI's box once its tunnel is up, from the
// LAN host's HTTP client and the serial console.

var (
	genFieldRe  = regexp.MustCompile(`name="generation" value="(\d+)"`)
	consoleGens = regexp.MustCompile(`Saved as config generation (\d+)\.`)
)

// getPage GETs a page as a browser would (HTML) and returns its body.
func (w *webLab) getPage(t *testing.T, path string) string {
	t.Helper()
	resp, err := w.client.Get(w.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
	}
	return string(b)
}

// postPage posts a form as a browser would and returns status and body.
func (w *webLab) postPage(t *testing.T, path string, v url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", w.base)
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkNoLostUpdates: the console saves between a browser's load of a
// page and its save; the browser's save is refused with "changed
// elsewhere" and a reload, and the console's change is kept. Two API
// clients based on the same generation: the second is refused.
func (w *webLab) checkNoLostUpdates(t *testing.T, csrf, lanAddr string) {
	t.Helper()
	m := genFieldRe.FindStringSubmatch(w.getPage(t, "/settings"))
	if m == nil {
		t.Fatal("the Settings page's forms carry no generation")
	}
	pageGen := m[1]
	staleETag := w.etag(t)

	// The console sets the LAN address (to the one it has): a new
	// generation, saved through the same owner.
	menuDialog(t, w.vm, "3", "New LAN address", lanAddr+"/24")
	consoleGen := expect(t, w.vm, consoleGens, time.Minute)[1]
	if consoleGen == pageGen {
		t.Fatalf("the console saved generation %s, the one the page showed", consoleGen)
	}

	st, body := w.postPage(t, "/settings/system", url.Values{"csrf": {csrf}, "generation": {pageGen}, "hostname": {"from-browser"}})
	if st != http.StatusConflict || !strings.Contains(body, "changed elsewhere since you opened this page") || !strings.Contains(body, `id="reload"`) {
		t.Errorf("the browser's stale save: %d, want 409 with the message and a reload link\n%s", st, body)
	}
	st, ans := w.postIfMatch(t, csrf, staleETag, "/api/settings/system", url.Values{"hostname": {"from-stale-api"}})
	if st != http.StatusConflict {
		t.Errorf("a stale API save: %d %v, want 409", st, ans)
	}
	if got := w.etag(t); got != `"config-`+consoleGen+`"` {
		t.Errorf("after the refused saves the box runs %s, want the console's generation %s", got, consoleGen)
	}

	// Two API clients read the same generation; the first save wins.
	base := w.etag(t)
	if st, ans := w.postIfMatch(t, csrf, base, "/api/settings/system", url.Values{"hostname": {"api-one"}}); st != 200 {
		t.Fatalf("the first API client's save: %d %v", st, ans)
	}
	st, ans = w.postIfMatch(t, csrf, base, "/api/settings/system", url.Values{"hostname": {"api-two"}})
	if msg, _ := json.Marshal(ans); st != http.StatusConflict || !strings.Contains(string(msg), "changed elsewhere") {
		t.Errorf("the second API client's save on the same generation: %d %s, want 409 changed elsewhere", st, msg)
	}
	var settings struct {
		System struct {
			Hostname string `json:"hostname"`
		} `json:"system"`
	}
	w.getJSON(t, "/api/settings", &settings)
	if settings.System.Hostname != "api-one" {
		t.Errorf("hostname %q after the API saves, want the first client's api-one", settings.System.Hostname)
	}
}

// getJSON GETs an API path into v.
func (w *webLab) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.base+path, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %s: %v", path, resp.Status, err)
	}
}

// apiColour is one tunnel's colour as GET /api/ipsec answers it, "" when
// the tunnel is not listed.
func (w *webLab) apiColour(t *testing.T, tunnel string) string {
	t.Helper()
	var st webui.Status
	w.getJSON(t, "/api/ipsec", &st)
	for _, tn := range st.Tunnels {
		if tn.Name == tunnel {
			return tn.Colour
		}
	}
	return ""
}

// colours reads one tunnel's colour from the JSON API, the IPsec page and
// the console's status screen.
func (w *webLab) colours(t *testing.T, tunnel string) (api, page, console string) {
	t.Helper()
	api = w.apiColour(t, tunnel)
	re := regexp.MustCompile(`<span class="dot (\w+)" title="\w+"></span> ` + regexp.QuoteMeta(tunnel) + `</h2>`)
	if m := re.FindStringSubmatch(w.getPage(t, "/ipsec")); m != nil {
		page = m[1]
	}
	menu(t, w.vm, "1", false)
	// Up to the colon that follows: console output arrives in pieces.
	console = expect(t, w.vm, regexp.MustCompile(`Tunnel `+regexp.QuoteMeta(tunnel)+` is (\w+)[:\r\n]`), time.Minute)[1]
	return api, page, console
}

// checkOneColour: a tunnel that never connected, one that is up, and one
// cut after being up each have one colour in the JSON API, the web UI and
// the console: gray, green, orange.
func (w *webLab) checkOneColour(t *testing.T, csrf string) {
	t.Helper()
	// A tunnel to a device that does not exist never connects.
	w.change(t, csrf, "/api/tunnels/new", url.Values{"name": {"ghost"}, "peer_address": {"192.0.2.99"},
		"psk": {webPSK + "x"}, "remote_networks": {"10.99.0.0/24"}})
	waitColour := func(tunnel, want string) {
		t.Helper()
		got := ""
		for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
			if got = w.apiColour(t, tunnel); got == want {
				return
			}
		}
		t.Fatalf("tunnel %s never became %s (last %q)\n%s", tunnel, want, got, w.vm.Console.Tail(30))
	}
	waitColour("site1", "green")
	check := func(tunnel, want string) {
		t.Helper()
		api, page, console := w.colours(t, tunnel)
		if api != want || page != want || console != want {
			t.Errorf("tunnel %s: JSON API %q, web UI %q, console %q; want %q everywhere", tunnel, api, page, console, want)
		}
	}
	check("ghost", "gray")
	check("site1", "green")

	// Cut site1 after it was up: the device drops IKE and ESP from the
	// box, then deletes its SAs (its DELETE still goes out), so the box
	// knows at once and cannot bring the tunnel back.
	w.site.Peer.Run(t, "nft", "add table inet cut")
	w.site.Peer.Run(t, "nft", "add chain inet cut in { type filter hook input priority 0 ; }")
	w.site.Peer.Run(t, "nft", "add rule inet cut in udp dport { 500, 4500 } drop")
	w.site.Swanctl(t, "--terminate", "--ike", "tunneler", "--force")
	waitColour("site1", "orange")
	check("site1", "orange")
	check("ghost", "gray")
}
