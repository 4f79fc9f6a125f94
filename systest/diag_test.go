package systest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/webui"
)

// diagEvent is one line of a diagnostics stream (NDJSON).
type diagEvent struct {
	Line     *string `json:"line"`
	Packets  *int    `json:"packets"`
	Bytes    int     `json:"bytes"`
	Done     bool    `json:"done"`
	OK       bool    `json:"ok"`
	Error    string  `json:"error"`
	Download string  `json:"download"`
}

// diagRun runs one Diagnostics action through the JSON API and returns
// its text, the last event and how many progress events came.
func (w *webLab) diagRun(t testing.TB, csrf, action string, v url.Values) (string, diagEvent, int) {
	t.Helper()
	text, last, progress, err := w.diagStream(csrf, action, v)
	if err != nil {
		t.Fatalf("diagnostics %s: %v\n%s", action, err, text)
	}
	return text, last, progress
}

// diagStream is diagRun for any goroutine: it fails nothing itself.
func (w *webLab) diagStream(csrf, action string, v url.Values) (string, diagEvent, int, error) {
	// The stream lasts as long as the action: no whole-request timeout
	// (the LAN client's is 15 s), a bound on the action instead.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := *w.client
	c.Timeout = 0
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.base+"/api/diagnostics/"+action, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.Do(req)
	if err != nil {
		return "", diagEvent{}, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var ans map[string]any
		json.NewDecoder(resp.Body).Decode(&ans)
		return "", diagEvent{}, 0, fmt.Errorf("%s %v", resp.Status, ans)
	}
	var text strings.Builder
	var last diagEvent
	progress := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev diagEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return text.String(), last, progress, fmt.Errorf("event %q: %v", sc.Text(), err)
		}
		switch {
		case ev.Line != nil:
			text.WriteString(*ev.Line + "\n")
		case ev.Packets != nil:
			progress++
		case ev.Done:
			last = ev
		}
	}
	if !last.Done {
		return text.String(), last, progress, fmt.Errorf("the stream ended without its last event (%v)", sc.Err())
	}
	return text.String(), last, progress, nil
}

// download GETs a path of the JSON API into a file in the test's
// artifact-free temp dir.
func (w *webLab) download(t testing.TB, path string) string {
	t.Helper()
	resp, err := w.client.Get(w.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	f := filepath.Join(t.TempDir(), "capture.pcap")
	out, _ := os.Create(f)
	defer out.Close()
	if _, err := out.ReadFrom(resp.Body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %v", path, resp.Status, err)
	}
	return f
}

// tsharkCount counts the packets of a pcap file that match a display
// filter, as Wireshark would read them.
func tsharkCount(t testing.TB, file, filter string) int {
	t.Helper()
	out, err := exec.Command("tshark", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark -r %s -Y %q: %v", file, filter, err)
	}
	return len(strings.Fields(string(out)))
}

// checkDiagnostics: from the Diagnostics API, a ping, a traceroute and a
// TCP connect from the box's inside address through tunnel site1 reach
// the host behind the remote site (10.9.0.2), and captures of the WAN
// preset (IKE during a reconnect, ESP in UDP 4500 from this host's
// kernel-libipsec peer) and of the inside preset (the decrypted ICMP of
// a ping from that host) open in tshark.
func (w *webLab) checkDiagnostics(t *testing.T, csrf string) {
	host := strings.Split(w.site.Inside.Addr, "/")[0]
	text, end, _ := w.diagRun(t, csrf, "ping", url.Values{"tunnel": {"site1"}, "target": {host}, "count": {"3"}})
	if !end.OK || !strings.Contains(text, "reply from "+host+": seq=") || !strings.Contains(text, "from 100.64.0.1 through tunnel site1") {
		t.Errorf("ping %s through the tunnel: %+v\n%s", host, end, text)
	}
	text, end, _ = w.diagRun(t, csrf, "traceroute", url.Values{"tunnel": {"site1"}, "target": {host}, "count": {"5"}})
	if !end.OK || !strings.Contains(text, "  "+host+"  ") {
		t.Errorf("traceroute to %s through the tunnel: %+v\n%s", host, end, text)
	}
	t.Logf("traceroute:\n%s", text)
	text, end, _ = w.diagRun(t, csrf, "tcp", url.Values{"tunnel": {"site1"}, "target": {host}, "port": {"9"}})
	if !end.OK || !strings.Contains(text, "refused in") {
		t.Errorf("TCP connect to %s:9 (nothing listens): %+v\n%s", host, end, text)
	}
	// A target not behind the tunnel is refused before anything is sent.
	if st, ans := w.postStatus(t, csrf, "/api/diagnostics/ping", url.Values{"tunnel": {"site1"}, "target": {"192.0.2.2"}}); st != 422 {
		t.Errorf("ping of the peer's WAN address through the tunnel: %d %v; want 422", st, ans)
	}

	if _, err := exec.LookPath("tshark"); err != nil {
		testenv.Skip(t, "no tshark to open the captures (Debian package tshark)")
	}
	// WAN: IKE while the tunnel reconnects, then ESP while pings cross it.
	type result struct {
		text string
		end  diagEvent
		n    int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		text, end, n, err := w.diagStream(csrf, "capture", url.Values{"tunnel": {"site1"}, "preset": {"wan"}, "seconds": {"25"}})
		done <- result{text, end, n, err}
	}()
	time.Sleep(2 * time.Second)
	w.post(t, csrf, "/api/tunnels/site1/reconnect", url.Values{"confirm": {"yes"}})
	time.Sleep(3 * time.Second)
	w.waitGreen(t, "site1")
	w.site.Inside.Command("ping", "-c", "5", "-i", "0.3", "100.64.0.1").Run() // ESP; the tunnel may still be settling
	r := <-done
	if r.err != nil || !r.end.OK || r.end.Download == "" || r.n < 2 {
		t.Fatalf("WAN capture: %v %+v after %d progress events\n%s", r.err, r.end, r.n, r.text)
	}
	f := w.download(t, r.end.Download)
	ike, esp := tsharkCount(t, f, "isakmp"), tsharkCount(t, f, "esp")
	if ike == 0 || esp == 0 {
		t.Errorf("WAN capture: %d IKE and %d ESP packets; want both\n%s", ike, esp, r.text)
	}
	t.Logf("WAN capture: %d IKE, %d ESP packets (%d progress events)", ike, esp, r.n)

	// Inside: the remote host's pings of the inside address, decrypted.
	go func() {
		text, end, n, err := w.diagStream(csrf, "capture", url.Values{"tunnel": {"site1"}, "preset": {"inside"}, "seconds": {"6"}})
		done <- result{text, end, n, err}
	}()
	time.Sleep(2 * time.Second)
	w.site.Inside.Run(t, "ping", "-c", "3", "-i", "0.3", "100.64.0.1")
	r = <-done
	if r.err != nil || !r.end.OK {
		t.Fatalf("inside capture: %v %+v\n%s", r.err, r.end, r.text)
	}
	f = w.download(t, r.end.Download)
	if n, all := tsharkCount(t, f, "icmp && ip.src == "+host), tsharkCount(t, f, "frame"); n < 3 || n != all {
		t.Errorf("inside capture: %d ICMP packets from %s of %d; want the 3 echo requests and nothing else\n%s", n, host, all, r.text)
	}
}

// apiTunnel reads one tunnel of the status snapshot.
func (w *webLab) apiTunnel(t *testing.T, name string) (webui.Status, webui.TunnelStatus) {
	t.Helper()
	var st webui.Status
	w.getJSON(t, "/api/overview", &st)
	for _, tn := range st.Tunnels {
		if tn.Name == name {
			return st, tn
		}
	}
	t.Fatalf("no tunnel %s in the status", name)
	return st, webui.TunnelStatus{}
}

// checkESPLiveness: after a ping through the tunnel, liveness is the
// inbound ESP just seen; with the remote device's ESP dropped on its way
// (UDP 4500 packets that are not IKE: a non-zero SPI after the UDP
// header) while the box keeps sending, IKE stays up, the tunnel is
// flagged silent and the alarm fires within the 60 s alarm time (plus a
// sample); ESP let through again clears it.
func (w *webLab) checkESPLiveness(t *testing.T, csrf string) {
	host := strings.Split(w.site.Inside.Addr, "/")[0]
	w.waitGreen(t, "site1")
	w.diagRun(t, csrf, "ping", url.Values{"tunnel": {"site1"}, "target": {host}, "count": {"2"}})
	// A counter sample follows within 5 s, later when the box is busy:
	// poll for it rather than sleep a fixed time.
	var tn webui.TunnelStatus
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(2 * time.Second) {
		_, tn = w.apiTunnel(t, "site1")
		if !tn.LastHeartbeat.IsZero() || time.Now().After(deadline) {
			break
		}
	}
	if tn.LastHeartbeat.IsZero() || time.Since(tn.LastHeartbeat) > 30*time.Second || tn.PacketsIn == 0 || tn.PacketsOut == 0 || tn.ESPSilent {
		t.Errorf("after a ping through the tunnel: last inbound ESP %v, packets %d in %d out, silent %v", tn.LastHeartbeat, tn.PacketsIn, tn.PacketsOut, tn.ESPSilent)
	}
	w.site.Peer.Run(t, "nft", "add table ip espdrop")
	w.site.Peer.Run(t, "nft", "add chain ip espdrop out { type filter hook output priority 0 ; }")
	w.site.Peer.Run(t, "nft", "add rule ip espdrop out udp dport 4500 @th,64,32 != 0 drop")
	dropped := time.Now()
	fired := time.Duration(0)
	for time.Since(dropped) < 100*time.Second && fired == 0 {
		w.diagRun(t, csrf, "ping", url.Values{"tunnel": {"site1"}, "target": {host}, "count": {"5"}}) // unanswered: keeps ESP going out
		st, tn := w.apiTunnel(t, "site1")
		if hasAlarm(st, "esp:site1") {
			fired = time.Since(dropped)
			if !tn.ESPSilent || tn.IKE.State != "ESTABLISHED" {
				t.Errorf("alarm raised, but the tunnel: silent %v, IKE %q", tn.ESPSilent, tn.IKE.State)
			}
			for _, a := range st.Alarms {
				if a.Key == "esp:site1" && !strings.Contains(a.Reason, "ESP from the remote device does not arrive") {
					t.Errorf("alarm reason %q", a.Reason)
				}
			}
		}
	}
	if fired == 0 {
		t.Errorf("no ESP alarm %s after dropping the remote device's ESP", time.Since(dropped).Round(time.Second))
	} else {
		t.Logf("ESP alarm after %s of dropped ESP (alarm time 60 s, samples every 5 s)", fired.Round(time.Second))
	}
	w.site.Peer.Run(t, "nft", "delete table ip espdrop")
	for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); {
		w.diagRun(t, csrf, "ping", url.Values{"tunnel": {"site1"}, "target": {host}, "count": {"2"}})
		if st, _ := w.apiTunnel(t, "site1"); !hasAlarm(st, "esp:site1") {
			return
		}
	}
	t.Errorf("the ESP alarm did not clear once ESP arrived again")
}

// browserDiagnostics drives the Diagnostics page in Chromium: a ping
// through the tunnel streams its replies into the page, and a capture of
// the inside preset, taken while the remote host pings the box, shows
// its count live and downloads as a pcap that tshark opens with the ICMP.
func (w *webLab) browserDiagnostics(t *testing.T, run func(string, ...chromedp.Action), shot func(string) chromedp.Action) {
	host := strings.Split(w.site.Inside.Addr, "/")[0]
	var out, live string
	run("diagnostics ping", chromedp.Navigate(w.base+"/diagnostics"), chromedp.WaitVisible("#diag-ping", chromedp.ByID),
		chromedp.SetValue("#ping-target", host, chromedp.ByID), chromedp.SetValue("#ping-count", "3", chromedp.ByID),
		chromedp.Click("#diag-ping button", chromedp.ByQuery), chromedp.WaitVisible("#diag-state[data-done]", chromedp.ByQuery),
		chromedp.Text("#diag-out", &out, chromedp.ByID), shot("diagnostics-ping"))
	if !strings.Contains(out, "reply from "+host) {
		t.Errorf("the Diagnostics page's ping shows no reply from %s:\n%s", host, out)
	}
	run("diagnostics capture", chromedp.SetValue("#capture-preset", "inside", chromedp.ByID),
		chromedp.SetValue("#capture-seconds", "8", chromedp.ByID), chromedp.Click("#diag-capture button", chromedp.ByQuery),
		chromedp.WaitVisible("#capture-live", chromedp.ByID))
	w.site.Inside.Run(t, "ping", "-c", "3", "-i", "0.3", "100.64.0.1")
	run("diagnostics capture live", chromedp.Text("#capture-live", &live, chromedp.ByID), shot("diagnostics-capture-running"))
	var b64 string
	run("diagnostics capture done", chromedp.WaitVisible("#diag-state[data-done]", chromedp.ByQuery),
		chromedp.WaitVisible("#capture-download", chromedp.ByID), shot("diagnostics-capture"),
		// What the download link fetches, with the browser's session.
		chromedp.Evaluate(`fetch(document.getElementById("capture-download").href).then(r => r.arrayBuffer()).then(b => {
			let s = ""; const u = new Uint8Array(b); for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]); return btoa(s); })`,
			&b64, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	t.Logf("capture while running: %q", live)
	if !strings.Contains(live, "packets") {
		t.Errorf("the capture shows no live count: %q", live)
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(data) < 24 {
		t.Fatalf("downloaded capture: %d bytes, %v", len(data), err)
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Logf("no tshark: the downloaded capture is not opened")
		return
	}
	f := filepath.Join(t.TempDir(), "browser.pcap")
	os.WriteFile(f, data, 0o644)
	if n := tsharkCount(t, f, "icmp && ip.src == "+host); n < 3 {
		t.Errorf("the capture downloaded in Chromium has %d ICMP packets from %s; want 3", n, host)
	}
}

// waitGreen waits until the tunnel is up (after a reconnect, say).
func (w *webLab) waitGreen(t *testing.T, tunnel string) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if w.apiColour(t, tunnel) == "green" {
			return
		}
	}
	t.Fatalf("tunnel %s is not up\n%s", tunnel, w.vm.Console.Tail(30))
}
