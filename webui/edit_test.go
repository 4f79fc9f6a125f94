package webui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
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

// Renaming a tunnel or a profile with its key field left empty cannot
// keep the key (it is stored under the old name): the key field says so
// and nothing is saved; the stored key stays with the old name.
func TestRenameWithoutKeyIsRefused(t *testing.T) {
	for _, tc := range []struct {
		kind string
		new  string // the item's new page
		form func() url.Values
		key  func(h *harness) string
	}{
		{"tunnel", "/tunnels/new", goodTunnel, func(h *harness) string {
			c := h.box.stored()
			return c.Tunnels[findTunnel(c, "site1")].PSK.Reveal()
		}},
		{"profile", "/profiles/new", func() url.Values { v := everyProfileSetting(); v.Set("name", "site1"); return v },
			func(h *harness) string {
				c := h.box.stored()
				return c.Profiles[findProfile(c, "site1")].PSK.Reveal()
			}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			h := newHarness(t)
			tok := h.setup()
			form := tc.form()
			form.Set("csrf", tok)
			if tc.kind == "profile" {
				if st, path, body := h.post(tc.new, form); st != 200 || path != "/apply" {
					t.Fatalf("make the profile: %d at %s\n%s", st, path, body)
				}
			}
			before := tc.key(h)
			saves := h.box.saveCount()
			form.Set("name", "site9")
			form.Set("psk", "")
			form.Set("confirm", "yes")
			base := strings.TrimSuffix(tc.new, "/new")
			_, _, body := h.post(base+"/site1/edit", form)
			if msg := fieldErr(body, "psk"); !strings.Contains(msg, "type the key again when renaming a "+tc.kind) {
				t.Errorf("psk field says %q, want the rename message", msg)
			}
			if h.box.saveCount() != saves {
				t.Error("a rename without a key was saved")
			}
			if got := tc.key(h); got != before || got == "" {
				t.Errorf("the stored key is %d bytes, was %d", len(got), len(before))
			}
		})
	}
}

// stored is the fake box's config with its secrets (Config hides them).
func (f *fakeBox) stored() config.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}
