package webui

import (
	"strconv"
	"strings"
	"testing"
)

func (h *harness) importFile(tok, name, data string) (int, string, string) {
	h.t.Helper()
	fields := map[string]string{"csrf": tok, "generation": strconv.Itoa(h.box.generation())}
	c := *h.c
	return h.uploadNamed(&c, "/import", fields, name, []byte(data))
}

const csvHeader = "name,peer_address,psk,remote_networks,preset\n"

// A CSV import with mistakes lists each by its line and saves nothing;
// fixed, it saves every row; an export imports back unchanged, keys kept.
func TestImportCSV(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	saves := h.box.saveCount()
	bad := csvHeader +
		"b1,203.0.113.31,Xk2-Wd8pLr5tQm3vBn7cZs4Hy9,10.41.0.0/24,\n" +
		"b2,203.0.113.32,short,10.42.0.0/24,\n" +
		`b3,203.0.113.33,Qm8-Tz3nWc6vHr2yLs9dKf4Bx7,"10.43.0.0/24,10.20.0.0/24",fortigate` + "\n"
	st, _, body := h.importFile(tok, "tunnels.csv", bad)
	for _, want := range []string{"line 3: tunnels[2].psk: is 5 characters long", "line 4: tunnels[3].remote_networks[1]: 10.20.0.0/24 overlaps"} {
		if !strings.Contains(body, want) {
			t.Errorf("the import's problems lack %q", want)
		}
	}
	if st != 422 || h.box.saveCount() != saves || !strings.Contains(body, "Nothing was saved") {
		t.Errorf("a file with errors: %d, saves %d -> %d", st, saves, h.box.saveCount())
	}
	// Columns that are no setting, and rows of the wrong length.
	st, _, body = h.importFile(tok, "tunnels.csv", "name,peer,psk\nx,1,2,3\n")
	for _, want := range []string{`line 1: column &#34;peer&#34; is not a tunnel setting`, "line 2: 4 cells, but the header names 3 columns"} {
		if st != 422 || !strings.Contains(body, want) {
			t.Errorf("bad CSV: %d, want %q", st, want)
		}
	}

	good := strings.Replace(bad, ",short,", ",Rf5-Lp8wQx2mZt7vNc4kHs9Dy3,", 1)
	good = strings.Replace(good, `"10.43.0.0/24,10.20.0.0/24"`, `"10.43.0.0/24,10.44.0.0/24"`, 1)
	if st, path, body := h.importFile(tok, "tunnels.csv", good); st != 200 || path != "/apply" {
		t.Fatalf("good CSV: %d at %s\n%s", st, path, generalErrors(body))
	}
	c, _, _ := h.box.Config()
	if len(c.Tunnels) != 4 || c.Tunnels[3].Name != "b3" || len(c.Tunnels[3].RemoteNetworks) != 2 || c.Tunnels[3].Preset != "fortigate" {
		t.Fatalf("imported: %+v", c.Tunnels)
	}

	// Export, then import the export: nothing changes, keys are kept.
	_, _, csvOut := h.get("/export?format=csv")
	if strings.Contains(csvOut, goodPSK) || !strings.Contains(csvOut, "(hidden)") {
		t.Errorf("the export shows a key or no placeholder:\n%s", csvOut)
	}
	if st, path, body := h.importFile(tok, "export.csv", csvOut); st != 200 || path != "/apply" {
		t.Fatalf("re-import: %d at %s\n%s", st, path, generalErrors(body))
	}
	h.box.mu.Lock()
	key := h.box.cfg.Tunnels[0].PSK.Reveal()
	n := len(h.box.cfg.Tunnels)
	h.box.mu.Unlock()
	if key != goodPSK || n != 4 {
		t.Errorf("after importing the export: key kept %v, %d tunnels", key == goodPSK, n)
	}
}

// A JSON import of profiles and sites: errors name the line each item
// starts on; the JSON export imports back.
func TestImportJSON(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	doc := `{
  "profiles": [
    {"name": "devices", "psk": "Nw4-Hq7zLt2xRc9mVb5sKd8Jy3"}
  ],
  "sites": [
    {"name": "hq", "remote_networks": ["10.9.0.0/24"],
     "remotes": [{"peer_address": "192.0.2.61", "profile": "devices"}, {"peer_address": "192.0.2.62", "profile": "devices"}]},
    {"name": "branch", "remote_networks": ["10.10.0.0/24"],
     "remotes": [{"peer_address": "192.0.2.63", "profile": "nothing"}]}
  ]
}`
	st, _, body := h.importFile(tok, "sites.json", doc)
	if want := `line 8: sites[1].remotes[0].profile: &#34;nothing&#34; is not the name of a profile`; st != 422 || !strings.Contains(body, want) {
		t.Errorf("JSON with an error: %d, want %q\n%s", st, want, generalErrors(body))
	}
	if st, _, body := h.importFile(tok, "x.json", `{"sites": [{"name": 7}]}`); st != 422 || !strings.Contains(body, "line 1: sites.name") {
		t.Errorf("wrong type: %d %s", st, generalErrors(body))
	}
	doc = strings.Replace(doc, `"nothing"`, `"devices"`, 1)
	if st, path, body := h.importFile(tok, "sites.json", doc); st != 200 || path != "/apply" {
		t.Fatalf("good JSON: %d at %s\n%s", st, path, generalErrors(body))
	}
	_, _, out := h.get("/export")
	if strings.Contains(out, "Nw4-Hq7z") || !strings.Contains(out, `"name": "branch"`) {
		t.Errorf("JSON export:\n%s", out)
	}
	if st, path, _ := h.importFile(tok, "export.json", out); st != 200 || path != "/apply" {
		t.Errorf("the JSON export does not import back: %d", st)
	}
	h.box.mu.Lock()
	key := h.box.cfg.Profiles[0].PSK.Reveal()
	h.box.mu.Unlock()
	if key != "Nw4-Hq7zLt2xRc9mVb5sKd8Jy3" {
		t.Error("the profile's key was not kept through export and import")
	}
	_, _, sitesCSV := h.get("/export?format=csv&kind=sites")
	if !strings.Contains(sitesCSV, "remote1_peer_address") || !strings.Contains(sitesCSV, "192.0.2.62") {
		t.Errorf("sites CSV:\n%s", sitesCSV)
	}
	if st, path, body := h.importFile(tok, "sites.csv", sitesCSV); st != 200 || path != "/apply" {
		t.Errorf("the sites CSV does not import back: %d\n%s", st, generalErrors(body))
	}
}
