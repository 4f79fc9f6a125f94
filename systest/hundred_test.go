package systest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
	"github.com/tunneler/tunneler/webui"
)

// scaleTunnel is one tunnel of a head-end's config, as boxConfigScale
// writes it.
type scaleTunnel struct {
	Name     string   `json:"name"`
	Peer     string   `json:"peer_address"`
	RemoteID string   `json:"remote_id,omitempty"`
	PSK      string   `json:"psk"`
	Nets     []string `json:"remote_networks"`
}

// boxConfigScale is a box with a WAN, a LAN (the JSON API from the LAN
// host) and tunnels, as a head-end's tunneler.json on the ESP.
func boxConfigScale(t testing.TB, tunnels []scaleTunnel) string {
	t.Helper()
	js, err := json.MarshalIndent(tunnels, "  ", " ")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`{
  "version": 3,
  "interfaces": [
    {"role": "wan", "mac": %q, "mode": "static", "address": "%s/24", "gateway": "192.0.2.1"},
    {"role": "lan", "mac": %q, "mode": "static", "address": "%s/24"}
  ],
  "admin": {"password_hash": %q},
  "tunnels": %s
}
`, boxWANMAC, boxWAN, boxLANMAC, boxLAN, adminHash(t, adminPW), js)
}

// hundredLab is a box with 100 tunnels to one stock strongSwan device:
// h001 is the device's main connection (10.9.0.0/24, the host behind it
// pings through it), h002..h100 its other connections, each with its own
// identity, key and network 10.100.N.0/24.
type hundredLab struct {
	vm   *vmtest.VM
	site *vmtest.RemoteSite
	api  *foAPI
}

const hundredTunnels = 100

// hundredChild is the device's child name of box tunnel i (1-based).
func hundredChild(i int) string {
	if i == 1 {
		return "tunneler"
	}
	return fmt.Sprintf("h%03d", i)
}

func newHundredLab(t testing.TB) *hundredLab {
	t.Helper()
	im := vmtest.LoadImage(t)
	lab := vmtest.NewLab(t)
	tunnels := []scaleTunnel{{Name: "h001", Peer: "192.0.2.2", RemoteID: "192.0.2.2", PSK: sitePSK, Nets: []string{"10.9.0.0/24"}}}
	var more []vmtest.SiteConn
	for i := 2; i <= hundredTunnels; i++ {
		c := vmtest.SiteConn{Name: hundredChild(i), ID: hundredChild(i) + ".site.example",
			Net: fmt.Sprintf("10.100.%d.0/24", i), PSK: fmt.Sprintf("%s-%03d", sitePSK, i)}
		more = append(more, c)
		tunnels = append(tunnels, scaleTunnel{Name: c.Name, Peer: "192.0.2.2", RemoteID: c.ID, PSK: c.PSK, Nets: []string{c.Net}})
	}
	hl := &hundredLab{site: vmtest.NewRemoteSite(t, lab, "wan", vmtest.RemoteSiteOptions{Name: "hq", WANAddr: "192.0.2.2/24",
		BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: sitePSK, More: more})}
	lan := lab.AddHost(t, "lan", "hqlan", "192.168.77.2/24")
	disk := espDisk(t, im, "tunneler.json", boxConfigScale(t, tunnels))
	hl.vm = vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768, Lab: lab,
		Append: "tunneler.debug=tcpecho", NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: boxLANMAC}}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the device's charon:\n%s", tail(hl.site.Log(), 60))
		}
	})
	if _, err := hl.vm.Console.Expect(bannerRe, bootTimeout); err != nil {
		t.Fatal(err)
	}
	hl.api = newFoAPI(t, lan, "https://"+boxLAN)
	return hl
}

// waitAllGreen polls the Overview's counts until every tunnel is green.
func (hl *hundredLab) waitAllGreen(t testing.TB, timeout time.Duration) {
	t.Helper()
	var d struct {
		Counts struct{ Total, Green, Orange, Gray int } `json:"counts"`
	}
	deadline := time.Now().Add(timeout)
	for {
		json.Unmarshal([]byte(hl.api.get(t, "/api/overview", "application/json")), &d)
		if d.Counts.Total == hundredTunnels && d.Counts.Green == hundredTunnels {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every tunnel green within %s: %+v\n%s", timeout, d.Counts, hl.vm.Console.Tail(20))
		}
		time.Sleep(time.Second)
	}
}

// siteChildSARe finds an installed CHILD_SA and its SPIs in swanctl
// --list-sas: the child's line, then "in  SPI," and "out SPI,".
var siteChildSARe = regexp.MustCompile(`(?m)^\s+(\S+): #\d+, reqid \d+, INSTALLED, .*\n(?:.*\n)*?\s+in\s+([0-9a-f]{8}),.*\n\s+out\s+([0-9a-f]{8}),`)

// siteSPIs maps each installed child of the device to "in/out" SPIs.
func siteSPIs(t testing.TB, rs *vmtest.RemoteSite) map[string]string {
	t.Helper()
	out := rs.Swanctl(t, "--list-sas")
	spis := map[string]string{}
	for _, m := range siteChildSARe.FindAllStringSubmatch(out, -1) {
		if prev, dup := spis[m[1]]; dup {
			// Two installed SAs of one child: a rekey in flight.
			spis[m[1]] = prev + "+" + m[2] + "/" + m[3]
			continue
		}
		spis[m[1]] = m[2] + "/" + m[3]
	}
	return spis
}

// postForm posts v to the JSON API, based on the settings' generation
// (If-Match), and wants 200.
func (a *foAPI) postForm(t testing.TB, path string, v url.Values) time.Duration {
	t.Helper()
	req, _ := http.NewRequest("GET", a.base+"/api/settings", nil)
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatalf("GET /api/settings: %v", err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	req, _ = http.NewRequest("POST", a.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", a.csrf)
	req.Header.Set("If-Match", etag)
	resp, err = a.c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s\n%s", path, resp.Status, b)
	}
	return serverTime(t, resp)
}

// waitApplied polls the apply progress until its last event and returns
// the events seen.
func (a *foAPI) waitApplied(t testing.TB, timeout time.Duration) []webui.ApplyEvent {
	t.Helper()
	var all []webui.ApplyEvent
	after := 0
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var evs []webui.ApplyEvent
		if err := json.Unmarshal([]byte(a.get(t, fmt.Sprintf("/api/progress?after=%d", after), "application/json")), &evs); err != nil {
			t.Fatalf("/api/progress: %v", err)
		}
		for _, e := range evs {
			after = max(after, e.Seq)
			all = append(all, e)
			if e.Done {
				if e.State != "ok" {
					t.Fatalf("apply ended: %s: %s", e.Step, e.Message)
				}
				return all
			}
		}
	}
	t.Fatalf("apply not done within %s: %v", timeout, all)
	return nil
}

// serverTimingDurRe reads webui's Server-Timing header.
var serverTimingDurRe = regexp.MustCompile(`app;dur=([0-9.]+)`)

// serverTime is the web UI's own time for an answer (its Server-Timing).
func serverTime(t testing.TB, resp *http.Response) time.Duration {
	t.Helper()
	m := serverTimingDurRe.FindStringSubmatch(resp.Header.Get("Server-Timing"))
	if m == nil {
		t.Fatalf("%s %s: no Server-Timing header (%q)", resp.Request.Method, resp.Request.URL.Path, resp.Header.Get("Server-Timing"))
	}
	var ms float64
	fmt.Sscan(m[1], &ms)
	return time.Duration(ms * float64(time.Millisecond))
}

// tunnelForm is the tunnel form of one of the lab's tunnels, as the web
// UI's form posts it: every field as stored, the key kept (empty).
func hundredTunnelForm(i int) url.Values {
	v := url.Values{"name": {fmt.Sprintf("h%03d", i)}, "peer_address": {"192.0.2.2"}, "confirm": {"yes"},
		"remote_id": {hundredChild(i) + ".site.example"}, "remote_networks": {fmt.Sprintf("10.100.%d.0/24", i)}}
	return v
}

// One stock strongSwan device carries 100 connections to the box, each
// with its own identity, key and network: all 100 come up. One tunnel
// edited through the tunnel form's JSON API (its DPD delay) is re-keyed
// alone: the SPIs of the other 99 stay as they were on the device, and a
// continuous ping through one of them (h001) loses nothing.
func TestHundredTunnelsOneEdited(t *testing.T) {
	requireTools(t)
	start := time.Now()
	hl := newHundredLab(t)
	hl.waitAllGreen(t, 5*time.Minute)
	t.Logf("%d tunnels green %.0fs after qemu started", hundredTunnels, time.Since(start).Seconds())

	before := siteSPIs(t, hl.site)
	if len(before) != hundredTunnels {
		t.Fatalf("the device lists %d installed CHILD_SAs, want %d:\n%v", len(before), hundredTunnels, before)
	}
	pingUntil(t, hl.site.Inside, insideAddr, 20*time.Second)
	p := startPing(t, hl.site.Inside, insideAddr, "0.2")
	time.Sleep(2 * time.Second)

	const edited = 50
	v := hundredTunnelForm(edited)
	v.Set("dpd_delay", "17s")
	saveTime := hl.api.postForm(t, fmt.Sprintf("/api/tunnels/h%03d/edit", edited), v)
	evs := hl.api.waitApplied(t, 2*time.Minute)
	t.Logf("h%03d saved (server %s); apply: %s", edited, saveTime.Round(time.Millisecond), evs[len(evs)-1].Message)
	time.Sleep(3 * time.Second)
	sent, recv, out := p.stop(t)
	t.Logf("ping through h001 during the edit: %d sent, %d received", sent, recv)
	if sent < 20 || recv != sent {
		t.Errorf("the continuous ping through h001 lost %d of %d while h%03d was edited\n%s", sent-recv, sent, edited, tail(out, 10))
	}

	after := siteSPIs(t, hl.site)
	var changed []string
	for i := 1; i <= hundredTunnels; i++ {
		name := hundredChild(i)
		if i == edited {
			if after[name] == "" || after[name] == before[name] {
				t.Errorf("the edited tunnel's CHILD_SA on the device: %q before, %q after; want new SPIs", before[name], after[name])
			}
			continue
		}
		if after[name] != before[name] {
			changed = append(changed, fmt.Sprintf("%s: %s -> %s", name, before[name], after[name]))
		}
	}
	if len(changed) > 0 {
		t.Errorf("editing h%03d changed the SAs of %d other tunnels:\n%s", edited, len(changed), strings.Join(changed, "\n"))
	}
	// The box's own view agrees: the edited tunnel has its new DPD and
	// every tunnel is green again.
	hl.waitAllGreen(t, time.Minute)
}
