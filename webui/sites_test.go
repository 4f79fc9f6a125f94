package webui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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
