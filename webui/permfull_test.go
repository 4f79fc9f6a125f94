package webui

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
)

// TestSaveOnFullPerm: a save the box refuses because /perm is full says
// so, 507 for the API and on the page, and nothing counts as saved.
func TestSaveOnFullPerm(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	saves := h.box.saveCount()
	h.box.saveErr = fmt.Errorf("save config: save config generation 3: %w: nothing was saved, and the running config and every saved generation are unchanged", config.ErrPermFull)
	form := url.Values{"hostname": {"full"}, "timezone": {"UTC"}}
	st, _, body := h.do(h.c, "POST", "/api/settings/system", form, map[string]string{"X-CSRF-Token": tok})
	if st != 507 || !strings.Contains(body, "/perm is full") || !strings.Contains(body, "nothing was saved") {
		t.Errorf("API save on a full /perm: %d %s", st, body)
	}
	form.Set("csrf", tok)
	st, _, body = h.post("/settings/system", form)
	if st != 507 || !strings.Contains(body, "/perm is full") {
		t.Errorf("page save on a full /perm: %d", st)
	}
	if h.box.saveCount() != saves {
		t.Error("the refused save counted as saved")
	}
}
