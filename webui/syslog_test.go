package webui

import (
	"net/url"
	"strings"
	"testing"
)

// Remote syslog in Settings, by form and JSON API: a bad target is shown
// next to its field and nothing is saved; UDP (default) and tcp:// are
// saved as typed and shown again.
func TestSettingsRemoteSyslog(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	for _, c := range []struct {
		target, wantErr string
	}{
		{"https://logs.example.com", "start with udp:// or tcp://"},
		{"logs.example.com:70000", "is not a number from 1 to 65535"},
		{"tcp://", "is not host or host:port"},
		{"192.0.2.5", ""},
		{"tcp://logs.example.com:601", ""},
		{"", ""},
	} {
		before := h.box.saveCount()
		form := url.Values{"csrf": {tok}, "hostname": {"branch-7"}, "remote_syslog": {c.target}}
		st, path, body := h.post("/settings/system", form)
		if c.wantErr != "" {
			if msg := fieldErr(body, "remote_syslog"); st != 422 || !strings.Contains(msg, c.wantErr) || h.box.saveCount() != before {
				t.Errorf("%q: %d, message %q, saves %d->%d", c.target, st, msg, before, h.box.saveCount())
			}
			st, _, body = h.do(h.c, "POST", "/api/settings/system", form, nil)
			if st != 422 || !strings.Contains(body, `"field": "remote_syslog"`) {
				t.Errorf("%q by API: %d %s", c.target, st, body)
			}
			continue
		}
		if st != 200 || path != "/settings" || h.box.saveCount() != before+1 {
			t.Errorf("%q: %d %s, saves %d->%d", c.target, st, path, before, h.box.saveCount())
			continue
		}
		if got, _, _ := h.box.Config(); got.System.RemoteSyslog != c.target {
			t.Errorf("saved %q, want %q", got.System.RemoteSyslog, c.target)
		}
		if _, _, body := h.get("/api/settings"); !strings.Contains(body, `"remote_syslog": "`+c.target+`"`) && c.target != "" {
			t.Errorf("API settings do not show %q: %s", c.target, body)
		}
	}
}
