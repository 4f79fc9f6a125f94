package webui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/config"
)

func goodSite() url.Values {
	return url.Values{
		"name": {"hq"}, "remote_networks": {"10.9.0.0/24"}, "hold_down": {"45s"}, "restart_grace": {"2s"},
		"monitor_type": {"tcp"}, "monitor_target": {"10.9.0.10:443"}, "monitor_interval": {"1s"}, "monitor_timeout": {"400ms"},
		"monitor_retries":      {"4"},
		"remote1_peer_address": {"192.0.2.51"}, "remote1_profile": {"fortigate-hq"},
		"remote2_peer_address": {"192.0.2.52"}, "remote2_profile": {"fortigate-hq"}, "remote2_local_address": {"198.51.100.8"},
		"remote2_monitor_target": {"10.9.0.11:443"},
	}
}

// A site with two remotes and a profile is made entirely through forms,
// shown again for editing, and changed.
func TestSiteForm(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	prof := everyProfileSetting()
	prof.Set("csrf", tok)
	if st, path, body := h.post("/profiles/new", prof); st != 200 || path != "/apply" {
		t.Fatalf("profile: %d at %s\n%s", st, path, body)
	}
	form := goodSite()
	form.Set("csrf", tok)
	if st, path, body := h.post("/sites/new", form); st != 200 || path != "/apply" {
		t.Fatalf("site: %d at %s\n%s", st, path, body)
	}
	c, _, _ := h.box.Config()
	want := []config.Site{{Name: "hq", RemoteNetworks: []config.Prefix{config.MustPrefix("10.9.0.0/24")},
		HoldDown: config.Dur(45 * time.Second), RestartGrace: config.Dur(2 * time.Second),
		Monitor: config.Monitor{Type: config.MonitorTCP, Target: "10.9.0.10:443", Interval: config.Dur(time.Second),
			Timeout: config.Dur(400 * time.Millisecond), Retries: 4},
		Remotes: []config.Remote{{PeerAddress: "192.0.2.51", Profile: "fortigate-hq"},
			{PeerAddress: "192.0.2.52", Profile: "fortigate-hq", LocalAddress: config.MustAddr("198.51.100.8"), MonitorTarget: "10.9.0.11:443"}}}}
	if diff := cmp.Diff(want, c.Sites); diff != "" {
		t.Errorf("saved sites (-want +got):\n%s", diff)
	}
	_, _, page := h.get("/sites/hq/edit")
	for _, v := range []string{`value="192.0.2.52"`, `value="198.51.100.8"`, `value="10.9.0.11:443"`, `value="45s"`, `value="tcp" selected`, `value="fortigate-hq" selected`} {
		if !strings.Contains(page, v) {
			t.Errorf("the edit form lacks %s", v)
		}
	}
	form.Set("remote2_peer_address", "")
	form.Set("remote2_profile", "")
	form.Set("remote2_local_address", "")
	form.Set("remote2_monitor_target", "")
	form.Set("remote3_peer_address", "192.0.2.53")
	form.Set("remote3_profile", "fortigate-hq")
	if st, path, body := h.post("/sites/hq/edit", form); st != 200 || path != "/apply" {
		t.Fatalf("edit: %d at %s\n%s", st, path, body)
	}
	c, _, _ = h.box.Config()
	if n := len(c.Sites[0].Remotes); n != 2 || c.Sites[0].Remotes[1].PeerAddress != "192.0.2.53" {
		t.Errorf("after the edit the remotes are %+v", c.Sites[0].Remotes)
	}
}

// A wrong value in each kind of site field is named next to it; a
// remote's error lands on the row it was typed in.
func TestSiteFormErrorsNextToFields(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	prof := everyProfileSetting()
	prof.Set("csrf", tok)
	h.post("/profiles/new", prof)
	saves := h.box.saveCount()
	for _, tc := range []struct{ field, value, want string }{
		{"name", "HQ!", "not a valid site name"},
		{"remote_networks", "10.9.0.0/33", "line 1:"},
		{"local_networks", "10.50.0.0/16", "inside address"},
		{"hold_down", "soon", "not a duration"},
		{"restart_grace", "10m", "outside the range"},
		{"monitor_type", "udp", "not a monitor type"},
		{"monitor_target", "10.99.0.1:443", "so the probe would not go through"},
		{"monitor_source", "127.0.0.1", "loopback"},
		{"monitor_interval", "1h", "outside the range"},
		{"monitor_timeout", "2s", "longer than the interval"},
		{"monitor_retries", "three", "not a whole number"},
		{"remote1_peer_address", "999.1.1.1", "neither an IP address nor a DNS name"},
		{"remote2_profile", "nope", "not the name of a profile"},
		{"remote2_local_address", "x", "not an IP address"},
		{"remote2_monitor_target", "10.9.0.11", "address:port"},
		{"remote4_peer_address", "192.0.2.51", "already the peer of"}, // rows 1, 2 and 4 filled
	} {
		form := goodSite()
		form.Set("csrf", tok)
		form.Set(tc.field, tc.value)
		if tc.field == "remote4_peer_address" {
			form.Set("remote4_profile", "fortigate-hq")
		}
		st, _, body := h.post("/sites/new", form)
		if msg := fieldErr(body, tc.field); st != http.StatusUnprocessableEntity || !strings.Contains(msg, tc.want) {
			t.Errorf("%s=%q: %d, next to the field %q, want %q\n%s", tc.field, tc.value, st, msg, tc.want, generalErrors(body))
		}
	}
	// No remote at all.
	form := url.Values{"csrf": {tok}, "name": {"empty"}, "remote_networks": {"10.8.0.0/24"}}
	if _, _, body := h.post("/sites/new", form); !strings.Contains(fieldErr(body, "remotes"), "list 1 to 4 remote") {
		t.Errorf("a site without remotes: %q", fieldErr(body, "remotes"))
	}
	if h.box.saveCount() != saves {
		t.Error("a site form with errors saved")
	}
}
