package webui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
)

// Sites and alarms show on the Overview; a remote's restart asks first,
// says whether it interrupts the site's traffic, needs the CSRF token,
// and reaches the box as ActRestartRemote.
func TestSitesOverviewAndRestartRemote(t *testing.T) {
	h := newHarness(t)
	h.setup()
	h.box.mu.Lock()
	h.box.sites = []SiteStatus{{Name: "hq", Active: 2, RemoteNetworks: []string{"10.9.0.0/24"}, Remotes: []RemoteStatus{
		{Index: 1, Tunnel: "hq-r1", PeerAddress: "192.0.2.2", Colour: Gray, Suspect: true, Reason: "DPD timeout"},
		{Index: 2, Tunnel: "hq-r2", PeerAddress: "192.0.2.3", Colour: Green, Active: true, Healthy: true, Monitor: "up", MonitorTarget: "10.9.0.100"},
	}}}
	h.box.alarms = []Alarm{{Key: "remote:hq-r1", Severity: "warning", Raised: h.now.Add(-time.Minute), Reason: "3 probes in a row failed"}}
	h.box.mu.Unlock()

	_, _, body := h.get("/overview")
	for _, want := range []string{`id="s-hq"`, "remote 2 active", `href="/sites/hq/remotes/1/restart"`, `data-key="remote:hq-r1"`, "3 probes in a row failed"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if _, _, js := h.get("/api/overview"); !strings.Contains(js, `"active": 2`) || !strings.Contains(js, `"key": "remote:hq-r1"`) {
		t.Errorf("/api/overview lacks the site or the alarm:\n%s", js)
	}

	tests := []struct {
		path, want string
	}{
		{"/sites/hq/remotes/2/restart", "It carries the site"},
		{"/sites/hq/remotes/1/restart", "is a standby"},
	}
	for _, tc := range tests {
		if st, _, body := h.get(tc.path); st != 200 || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d, want a confirmation saying %q", tc.path, st, tc.want)
		}
	}
	if st, _, _ := h.get("/sites/hq/remotes/3/restart"); st != http.StatusNotFound {
		t.Errorf("GET a remote that does not exist: %d, want 404", st)
	}
	before := len(h.box.actions)
	if st, _, _ := h.post("/sites/hq/remotes/2/restart", url.Values{"confirm": {"yes"}}); st != http.StatusForbidden {
		t.Errorf("restart without CSRF: %d, want 403", st)
	}
	tok := h.csrf()
	if st, _, _ := h.post("/sites/hq/remotes/2/restart", url.Values{"csrf": {tok}}); st != http.StatusUnprocessableEntity {
		t.Errorf("restart without confirm: %d, want 422", st)
	}
	if len(h.box.actions) != before {
		t.Fatal("a refused restart reached the box")
	}
	if st, _, body := h.do(h.c, "POST", "/api/sites/hq/remotes/2/restart", url.Values{"confirm": {"yes"}}, map[string]string{"X-CSRF-Token": tok}); st != 200 {
		t.Fatalf("restart over the API: %d %s", st, body)
	}
	if got := h.box.actions[len(h.box.actions)-1]; got != (Action{Kind: ActRestartRemote, Tunnel: "hq-r2"}) {
		t.Errorf("action = %+v", got)
	}
}

// Sites are edited as a JSON document of profiles and sites: a good one
// is saved and applied, the key never comes back to the page (hidden, and
// kept when the placeholder is sent back), a broken one saves nothing and
// does not echo what was typed, and validation errors name the field.
func TestSitesEditor(t *testing.T) {
	h := newHarness(t)
	h.setup()
	tok := h.csrf()
	const key = "Zq8-shared-key-of-both-hq-devices-41"
	doc := `{"profiles": [{"name": "hq-devices", "psk": "` + key + `"}],
 "sites": [{"name": "hq", "remote_networks": ["10.9.0.0/24"],
  "remotes": [{"peer_address": "192.0.2.2", "profile": "hq-devices"}, {"peer_address": "192.0.2.3", "profile": "hq-devices"}],
  "monitor": {"target": "10.9.0.1", "interval": "1s"}}]}`
	if st, path, body := h.post("/sites", url.Values{"csrf": {tok}, "sites_json": {doc}}); st != 200 || path != "/apply" {
		t.Fatalf("save sites: %d at %s\n%s", st, path, body)
	}
	c, _, _ := h.box.Config()
	if len(c.Sites) != 1 || len(c.Sites[0].Remotes) != 2 || c.Profiles[0].Name != "hq-devices" {
		t.Fatalf("saved: %+v %+v", c.Sites, c.Profiles)
	}
	_, _, page := h.get("/sites/json")
	_, _, js := h.get("/api/sites/json")
	_, _, list := h.get("/sites")
	_, _, listJS := h.get("/api/sites")
	_, _, tunnels := h.get("/tunnels")
	for name, body := range map[string]string{"editor": page, "api": js, "list": list, "list api": listJS, "tunnels": tunnels} {
		if strings.Contains(body, key) {
			t.Errorf("the %s shows the key", name)
		}
	}
	if !strings.Contains(list, `id="site-hq"`) || !strings.Contains(js, `"peer_address": "192.0.2.3"`) || !strings.Contains(listJS, `"peer_address": "192.0.2.3"`) {
		t.Errorf("the site is not listed:\n%s", js)
	}
	// Sent back as shown (placeholder): the key stays.
	var shown sitesDoc
	if err := json.Unmarshal([]byte(js), &shown); err != nil {
		t.Fatal(err)
	}
	shown.Sites[0].HoldDown = config.Dur(10 * time.Second)
	b, _ := json.Marshal(shown)
	if st, _, body := h.post("/sites", url.Values{"csrf": {tok}, "sites_json": {string(b)}}); st != 200 {
		t.Fatalf("save shown document: %d\n%s", st, body)
	}
	h.box.mu.Lock()
	kept := h.box.cfg.Profiles[0].PSK.Reveal()
	h.box.mu.Unlock()
	if kept != key {
		t.Errorf("the stored key changed when its placeholder came back")
	}

	tests := []struct {
		name, doc, want string
	}{
		{"broken JSON", `{"sites": [` + key, "not a sites document"},
		{"unknown field", `{"sitez": []}`, "unknown field"},
		{"no such profile", `{"sites": [{"name": "b", "remote_networks": ["10.7.0.0/24"], "remotes": [{"peer_address": "192.0.2.9", "profile": "nope"}]}]}`, "sites[0].remotes[0].profile"},
	}
	for _, tc := range tests {
		st, _, body := h.post("/sites", url.Values{"csrf": {tok}, "sites_json": {tc.doc}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want 422 saying %q\n%s", tc.name, st, tc.want, body)
		}
		if strings.Contains(body, key) {
			t.Errorf("%s: the page echoes the key", tc.name)
		}
	}
}
