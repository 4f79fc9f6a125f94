package webui

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/config/configtest"
)

// listAnswer is what a paged JSON answer carries besides its items.
type listAnswer struct {
	Tunnels []struct {
		Name   string `json:"name"`
		Colour string `json:"colour"`
	} `json:"tunnels"`
	Sites []struct {
		Name string `json:"name"`
	} `json:"sites"`
	List listPage `json:"list"`
}

func names(a listAnswer) []string {
	var out []string
	for _, t := range a.Tunnels {
		out = append(out, t.Name)
	}
	for _, s := range a.Sites {
		out = append(out, s.Name)
	}
	return out
}

func getList(t *testing.T, h *harness, path string) listAnswer {
	t.Helper()
	st, _, body := h.get(path)
	var a listAnswer
	if err := json.Unmarshal([]byte(body), &a); st != 200 || err != nil {
		t.Fatalf("GET %s: %d %v\n%.300s", path, st, err, body)
	}
	return a
}

// The IPsec and Tunnels lists and their JSON answers page through 120
// tunnels, 50 at a time by default, and find them by name, peer, network
// (an address finds the network that holds it) and colour.
func TestListsPageAndSearch(t *testing.T) {
	h, _ := scaledHarness(t, 120) // t10, t20, ... are down (gray)
	for _, base := range []string{"/api/ipsec", "/api/tunnels"} {
		tests := []struct {
			query     string
			want      []string // names, when short
			count     int
			matched   int
			page      int
			pages     int
			firstName string
		}{
			{"", nil, 50, 120, 1, 3, "t1"},
			{"?page=3", nil, 20, 120, 3, 3, "t101"},
			{"?page=9", nil, 20, 120, 3, 3, "t101"}, // past the end: the last page
			{"?per_page=200", nil, 120, 120, 1, 1, "t1"},
			{"?q=T11", []string{"t11", "t110", "t111", "t112", "t113", "t114", "t115", "t116", "t117", "t118", "t119"}, 11, 11, 1, 1, "t11"},
			{"?q=198.18.0.7", []string{"t7"}, 1, 1, 1, 1, "t7"},
			{"?q=10.0.41.9", []string{"t42"}, 1, 1, 1, 1, "t42"},           // the address is in t42's network
			{"?q=10.0.40.0/23", []string{"t41", "t42"}, 2, 2, 1, 1, "t41"}, // networks overlapping it
			{"?colour=gray&per_page=5&page=2", []string{"t60", "t70", "t80", "t90", "t100"}, 5, 12, 2, 3, "t60"},
			{"?q=nothing-like-it", nil, 0, 0, 1, 1, ""},
		}
		for _, tc := range tests {
			a := getList(t, h, base+tc.query)
			got := names(a)
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s%s (-want +got):\n%s", base, tc.query, diff)
				}
			}
			first := ""
			if len(got) > 0 {
				first = got[0]
			}
			if len(got) != tc.count || a.List.Matched != tc.matched || a.List.Total != 120 || a.List.Page != tc.page || a.List.Pages != tc.pages || first != tc.firstName {
				t.Errorf("%s%s: %d items from %q, list %+v; want %d from %q, matched %d, page %d of %d",
					base, tc.query, len(got), first, a.List, tc.count, tc.firstName, tc.matched, tc.page, tc.pages)
			}
		}
	}

	// The pages carry the search box and the links to the next page.
	for _, p := range []string{"/ipsec", "/tunnels"} {
		_, _, body := h.get(p + "?q=t1")
		for _, want := range []string{`name="q" id="q" value="t1"`, `1–32 of 32 found among 120`, `id="page-next"`} {
			if want == `id="page-next"` {
				_, _, body = h.get(p)
				want = `href="` + p + `?page=2" rel="next"`
			}
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", p, want)
			}
		}
	}
}

// The Overview counts every tunnel by colour and lists at most 50, those
// not up first.
func TestOverviewSummarises(t *testing.T) {
	h, _ := scaledHarness(t, 1000)
	_, _, body := h.get("/api/overview")
	var d struct {
		listAnswer
		Counts      colourCounts `json:"counts"`
		MoreTunnels int          `json:"more_tunnels"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if want := (colourCounts{Total: 1000, Green: 900, Gray: 100}); d.Counts != want {
		t.Errorf("counts = %+v, want %+v", d.Counts, want)
	}
	if len(d.Tunnels) != overviewShown || d.MoreTunnels != 1000-overviewShown {
		t.Errorf("%d tunnels listed, %d more; want %d and %d", len(d.Tunnels), d.MoreTunnels, overviewShown, 1000-overviewShown)
	}
	for i, tn := range d.Tunnels {
		if tn.Colour != Gray {
			t.Fatalf("tunnel %d listed (%s) is %s; the 100 down ones come first", i, tn.Name, tn.Colour)
		}
	}
	if d.Tunnels[0].Name != "t10" {
		t.Errorf("first listed %s, want t10 (config order among equals)", d.Tunnels[0].Name)
	}
	_, _, page := h.get("/overview")
	for _, want := range []string{`id="count-gray">`, "100 not connected", "900 up", `id="more-tunnels">950 more`} {
		if !strings.Contains(page, want) {
			t.Errorf("the Overview lacks %q", want)
		}
	}
}

// The Sites page pages and searches the sites (by name, a remote's peer,
// or a network); the JSON editor stays at /sites/json.
func TestSitesListPagesAndSearches(t *testing.T) {
	h, _ := scaledHarness(t, 0)
	c := configtest.Scale(0, 75, 2)
	h.box.mu.Lock()
	h.box.cfg.Sites, h.box.cfg.Profiles = c.Sites, c.Profiles
	h.box.saves++
	h.box.mu.Unlock()
	a := getList(t, h, "/api/sites")
	if len(a.Sites) != 50 || a.List.Total != 75 || a.List.Pages != 2 {
		t.Errorf("/api/sites: %d sites, list %+v", len(a.Sites), a.List)
	}
	for q, want := range map[string][]string{
		"s7":          {"s7", "s70", "s71", "s72", "s73", "s74", "s75"},
		"198.19.0.10": {"s3"},  // remotes 4*2+1, 4*2+2 are s3's
		"172.16.9.1":  {"s10"}, // its network
		"colour=gray": {"s1"},  // not running in the fake: all gray (first page's first)
		"zzz":         nil,
	} {
		path := "/api/sites?q=" + q
		if strings.HasPrefix(q, "colour=") {
			path = "/api/sites?per_page=1&" + q
		}
		if got := names(getList(t, h, path)); !cmp.Equal(want, got) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	_, _, page := h.get("/sites?q=s42")
	if !strings.Contains(page, `id="site-s42"`) || strings.Contains(page, `id="site-s41"`) || !strings.Contains(page, `href="/sites/json"`) {
		t.Errorf("/sites?q=s42 does not list just s42 with a link to the editor")
	}
}
