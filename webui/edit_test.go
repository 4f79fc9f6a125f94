package webui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The edit pages of every list find their item the same way: a name that
// is not there is a 404 naming it, on GET and on POST (nothing saved),
// and the new page answers without a name.
func TestEditPagesOfAMissingItem(t *testing.T) {
	h := newHarness(t)
	h.setup()
	for _, tc := range []struct{ base, kind string }{
		{"/tunnels", "tunnel"},
		{"/profiles", "profile"},
		{"/sites", "site"},
	} {
		if st, _, _ := h.get(tc.base + "/new"); st != http.StatusOK {
			t.Errorf("GET %s/new: %d, want 200", tc.base, st)
		}
		st, _, body := h.get(tc.base + "/nope/edit")
		if st != http.StatusNotFound || !strings.Contains(body, "there is no "+tc.kind+" &#34;nope&#34;") {
			t.Errorf("GET %s/nope/edit: %d, want 404 naming the %s:\n%s", tc.base, st, tc.kind, body)
		}
		if st, _, _ := h.post(tc.base+"/nope/edit", url.Values{"csrf": {h.csrf()}, "name": {"nope"}}); st != http.StatusNotFound {
			t.Errorf("POST %s/nope/edit: %d, want 404", tc.base, st)
		}
	}
}
