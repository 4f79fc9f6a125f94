package webui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/control"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// "Find what the remote device accepts": started from the tunnel's page,
// shown live while it runs (refresh, count), then the accepted set and a
// button per matching preset, which saves it; the same in JSON.
func TestProbePage(t *testing.T) {
	h := newHarness(t)
	h.setup()
	if _, _, page := h.get("/ipsec"); !strings.Contains(page, `href="/tunnels/site1/probe"`) {
		t.Errorf("/ipsec offers no probe")
	}
	if st, _, _ := h.get("/tunnels/nope/probe"); st != http.StatusNotFound {
		t.Errorf("probe page of an unknown tunnel: %d", st)
	}
	_, _, page := h.get("/tunnels/site1/probe")
	if !strings.Contains(page, `id="probe-start"`) {
		t.Errorf("no start button:\n%s", page)
	}
	st, at, page := h.post("/tunnels/site1/probe", url.Values{"csrf": {h.csrf()}})
	if st != 200 || at != "/tunnels/site1/probe" || !strings.Contains(page, "Running: 0 of 16 sets tried") || !strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("after start: %d at %s\n%s", st, at, page)
	}
	if st, _, _ := h.post("/tunnels/site1/probe", url.Values{"csrf": {h.csrf()}}); st != http.StatusConflict {
		t.Errorf("second start while running: %d, want 409", st)
	}

	set := ipsec.ProbeSet{Proposal: "aes256-sha384-ecp384", Labels: []string{"preset paloalto"}, Presets: []string{"paloalto"}}
	h.box.mu.Lock()
	h.box.probe = &control.ProbeStatus{Tunnel: "site1", Done: 2, Total: 2, Accepted: []string{set.Proposal}, Presets: []string{"paloalto"},
		Results: []ipsec.ProbeResult{{Set: ipsec.ProbeSet{Proposal: "aes128-sha1-modp1024", Labels: []string{"AWS (legacy default)"}, Legacy: true}, Outcome: ipsec.ProbeRefused},
			{Set: set, Outcome: ipsec.ProbeAccepted}}}
	h.box.mu.Unlock()
	_, _, page = h.get("/tunnels/site1/probe")
	for _, want := range []string{"Finished: 2 of 2 sets tried", "<code>aes128-sha1-modp1024</code> (legacy)", "The remote device accepts: <code>aes256-sha384-ecp384</code>",
		`id="apply-paloalto"`} {
		if !strings.Contains(page, want) {
			t.Errorf("finished probe page lacks %q", want)
		}
	}
	if strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("a finished probe still refreshes")
	}
	_, _, js := h.get("/api/tunnels/site1/probe")
	var d probeData
	if err := json.Unmarshal([]byte(js), &d); err != nil || d.Probe == nil || len(d.Probe.Results) != 2 || d.Probe.Presets[0] != "paloalto" {
		t.Errorf("/api/tunnels/site1/probe: %v %s", err, js)
	}

	if st, _, body := h.post("/tunnels/site1/probe/apply", url.Values{"csrf": {h.csrf()}, "preset": {"juniper"}}); st != http.StatusUnprocessableEntity || !strings.Contains(body, "not a known preset") {
		t.Errorf("unknown preset: %d %s", st, body)
	}
	if st, at, _ := h.post("/tunnels/site1/probe/apply", url.Values{"csrf": {h.csrf()}, "preset": {"paloalto"}}); st != 200 || at != "/ipsec" {
		t.Errorf("apply: %d at %s", st, at)
	}
	if len(h.box.presets) != 1 || h.box.presets[0] != "site1=paloalto" {
		t.Errorf("presets applied: %v", h.box.presets)
	}
}
