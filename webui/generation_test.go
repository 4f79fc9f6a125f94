package webui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/control"
)

var genFieldRE = regexp.MustCompile(`name="generation" value="(\d+)"`)

// pageGeneration reads the generation a page's forms carry.
func pageGeneration(t *testing.T, body string) string {
	t.Helper()
	m := genFieldRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the page's forms carry no generation")
	}
	return m[1]
}

// The console saves between a browser's load and its save: the browser's
// stale save is refused with "changed elsewhere" and a reload, and the
// console's change is kept. Likewise for two API clients with If-Match.
func TestStaleSavesAreRefused(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()

	tests := []struct {
		name   string
		save   func(gen string) (int, string)
		status int
		want   string
	}{
		{
			name: "browser form with the generation it showed",
			save: func(gen string) (int, string) {
				st, _, body := h.post("/settings/system", url.Values{"csrf": {tok}, "generation": {gen}, "hostname": {"from-browser"}})
				return st, body
			},
			status: http.StatusConflict,
			want:   `id="reload"`,
		},
		{
			name: "API client with If-Match",
			save: func(gen string) (int, string) {
				st, _, body := h.do(h.c, "POST", "/api/settings/system", url.Values{"hostname": {"from-api"}, "generation": nil},
					map[string]string{"X-CSRF-Token": tok, "If-Match": `"config-` + gen + `"`})
				return st, body
			},
			status: http.StatusConflict,
			want:   `"generation":`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, page := h.get("/settings")
			gen := pageGeneration(t, page)
			// The console changes the hostname meanwhile.
			c, cgen, _ := h.box.Config()
			c.System.Hostname = "from-console"
			if errs, err := h.box.Save(context.Background(), control.Change{Config: c, Base: cgen, Source: control.FromConsole}); err != nil || len(errs) > 0 {
				t.Fatalf("console save: %v %v", errs, err)
			}
			st, body := tc.save(gen)
			if st != tc.status || !strings.Contains(body, "changed elsewhere since you opened this page") || !strings.Contains(body, tc.want) {
				t.Fatalf("stale save answered %d:\n%s", st, body)
			}
			if got, _, _ := h.box.Config(); got.System.Hostname != "from-console" {
				t.Errorf("the console's change was overwritten: hostname %q", got.System.Hostname)
			}
			// Reloaded, the same change goes through.
			_, _, page = h.get("/settings")
			if st, _ := tc.save(pageGeneration(t, page)); st != http.StatusOK && st != http.StatusSeeOther {
				t.Errorf("save after reload: %d", st)
			}
		})
	}
}

// An API client learns the generation from the ETag of a GET; a change
// that names none is refused rather than applied blind.
func TestAPIGenerationFromETag(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	req, _ := http.NewRequest("GET", h.ts.URL+"/api/settings", nil)
	resp, err := h.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if want := `"config-` + strconv.Itoa(h.box.generation()) + `"`; etag != want {
		t.Fatalf("ETag %q, want %q", etag, want)
	}
	st, _, body := h.do(h.c, "POST", "/api/settings/system", url.Values{"hostname": {"no-base"}, "generation": nil}, map[string]string{"X-CSRF-Token": tok})
	if st != http.StatusPreconditionRequired || !strings.Contains(body, "did not say") && !strings.Contains(body, "does not say") {
		t.Fatalf("change without a base: %d %s", st, body)
	}
	st, _, body = h.do(h.c, "POST", "/api/settings/system", url.Values{"hostname": {"with-base"}, "generation": nil}, map[string]string{"X-CSRF-Token": tok, "If-Match": etag})
	var ans map[string]any
	if st != http.StatusOK || json.Unmarshal([]byte(body), &ans) != nil || ans["ok"] != true {
		t.Fatalf("change with If-Match: %d %s", st, body)
	}
	if got := h.box.sources[len(h.box.sources)-1]; got != control.FromAPI {
		t.Errorf("source %q, want %q", got, control.FromAPI)
	}
}
