package webui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/config"
)

// otherPSK is a second strong key: each remote device needs its own.
const otherPSK = "Hb4-Zq9wNe2rTy7uXk5mLp8sDf3"

// everyTunnelSetting is a tunnel form with every field filled.
func everyTunnelSetting() url.Values {
	return url.Values{
		"name": {"hq"}, "peer_address": {"203.0.113.20"}, "psk": {otherPSK}, "local_address": {"198.51.100.7"},
		"remote_networks": {"10.30.0.0/24"}, "local_networks": {"0.0.0.0/0"}, "mode": {"route"}, "if_id": {"42"},
		"routes": {"10.30.0.0/24\n10.31.0.0/24"}, "preset": {"fortigate"}, "ike_version": {"ikev2"},
		"local_id": {"box.example.com"}, "remote_id": {"hq.example.com"}, "initiation": {"responder"},
		"ike_proposals": {"aes256gcm16-prfsha384-ecp384"}, "esp_proposals": {"aes256gcm16-ecp384"},
		"ike_lifetime": {"4h"}, "child_lifetime": {"45m"}, "dpd_delay": {"20s"}, "dpd_timeout": {"2m"},
		"mobike": {"off"}, "reauth": {"on"}, "force_udp_encap": {"on"},
	}
}

// Every setting a tunnel has is in the tunnel form, saved as typed, and
// shown again when the tunnel is edited (the key excepted).
func TestTunnelFormHasEverySetting(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	form := everyTunnelSetting()
	form.Set("csrf", tok)
	if st, path, body := h.post("/tunnels/new", form); st != 200 || path != "/apply" {
		t.Fatalf("save: %d at %s\n%s", st, path, body)
	}
	c, _, _ := h.box.Config()
	got := c.Tunnels[len(c.Tunnels)-1]
	off := false
	want := config.Tunnel{Name: "hq", PeerAddress: "203.0.113.20", LocalAddress: config.MustAddr("198.51.100.7"),
		RemoteNetworks: []config.Prefix{config.MustPrefix("10.30.0.0/24")}, LocalNetworks: []config.Prefix{config.MustPrefix("0.0.0.0/0")},
		Mode: config.ModeRoute, IfID: 42, Routes: []config.Prefix{config.MustPrefix("10.30.0.0/24"), config.MustPrefix("10.31.0.0/24")},
		IKESettings: config.IKESettings{Preset: "fortigate", IKEVersion: config.IKEv2, LocalID: "box.example.com", RemoteID: "hq.example.com",
			PSK: got.PSK, IKEProposals: []string{"aes256gcm16-prfsha384-ecp384"}, ESPProposals: []string{"aes256gcm16-ecp384"},
			IKELifetime: config.Dur(4 * time.Hour), ChildLifetime: config.Dur(45 * time.Minute), DPDDelay: config.Dur(20 * time.Second),
			DPDTimeout: config.Dur(2 * time.Minute), Initiation: config.Responder, MOBIKE: &off, Reauth: true, ForceUDPEncap: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("saved tunnel (-want +got):\n%s", diff)
	}
	_, _, page := h.get("/tunnels/hq/edit")
	for name, vals := range everyTunnelSetting() {
		if name == "psk" {
			continue
		}
		v := vals[0]
		if name == "ike_version" {
			v = "ikev2" // the default's option has the empty value
			continue
		}
		shown := strings.Contains(page, `value="`+v+`"`) || strings.Contains(page, `>`+strings.ReplaceAll(v, "\n", "\n")+`</textarea>`) ||
			strings.Contains(page, `value="`+v+`" selected`) || strings.Contains(page, `name="`+name+`" id="`+name+`" checked`)
		if !shown {
			t.Errorf("the edit form does not show %s=%q", name, v)
		}
	}
	if strings.Contains(page, otherPSK) {
		t.Error("the edit form shows the key")
	}
}

// A wrong value in each kind of field is named next to that field, and
// nothing is saved.
func TestTunnelFormErrorsNextToFields(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	saves := h.box.saveCount()
	tests := []struct{ field, value, want string }{
		{"name", "Bad_Name", "not a valid name"},
		{"peer_address", "300.1.1.1", "neither an IP address nor a DNS name"},
		{"psk", "short", "too short"},
		{"local_address", "nope", "not an IP address"},
		{"remote_networks", "10.0.0.1/40", "line 1:"},
		{"local_networks", "10.40.0.0/16", "inside address 100.64.0.1"},
		{"if_id", "forty-two", "not a number"},
		{"routes", "172.16.0.0/33", "line 2:"},
		{"preset", "acme", "not a known preset"},
		{"ike_version", "ikev3", "not an IKE version"},
		{"local_id", strings.Repeat("x", 256), "256 characters long"},
		{"initiation", "sometimes", "initiator or responder"},
		{"ike_proposals", "3des-md5-modp1024", "line 1:"},
		{"esp_proposals", "des-md5", "line 1:"},
		{"ike_lifetime", "forever", "not a duration"},
		{"child_lifetime", "1m", "outside the range"},
		{"dpd_delay", "1s", "outside the range"},
		{"dpd_timeout", "10s", "longer than dpd_delay"},
		{"mobike", "on", "needs IKEv2"},
		{"mode", "tunnel", "not a mode"},
	}
	for _, tc := range tests {
		form := everyTunnelSetting()
		form.Set("name", "t2")
		form.Set("peer_address", "203.0.113.21")
		form.Set("if_id", "43")
		form.Set("csrf", tok)
		form.Set(tc.field, tc.value)
		switch tc.field {
		case "routes":
			form.Set(tc.field, "10.30.0.0/24\n"+tc.value)
		case "local_networks":
			form.Set("mode", "") // policy mode: the inside address must be in them
			form.Set("routes", "")
			form.Set("if_id", "")
		case "mobike":
			form.Set("ike_version", "ikev1")
		case "dpd_timeout":
			form.Set("ike_version", "ikev1")
			form.Set("mobike", "")
		}
		st, _, body := h.post("/tunnels/new", form)
		msg := fieldErr(body, tc.field)
		if st != http.StatusUnprocessableEntity || msg == "" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s=%q: %d, message next to the field %q, want one saying %q\n%s", tc.field, tc.value, st, msg, tc.want, generalErrors(body))
		}
	}
	if h.box.saveCount() != saves {
		t.Errorf("a form with errors saved")
	}
}

// generalErrors is the page's list of errors that have no field, for
// a failing test's message.
func generalErrors(body string) string {
	i := strings.Index(body, `id="general-errors"`)
	if i < 0 {
		return ""
	}
	return body[i:min(len(body), i+600)]
}

// An old device's SHA-1/group 2 proposals are refused with the way
// through named; the legacy preset takes them only with the box ticked,
// and the tunnel is then marked "weak crypto" on the Overview and the
// IPsec page and in their JSON.
func TestLegacyDeviceForm(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	aws := func(extra url.Values) url.Values {
		v := url.Values{"csrf": {tok}, "name": {"aws"}, "peer_address": {"203.0.113.30"}, "psk": {otherPSK},
			"remote_networks": {"10.40.0.0/24"}, "ike_version": {"ikev1"},
			"ike_proposals": {"aes128-sha1-modp1024"}, "esp_proposals": {"aes128-sha1-modp1024"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		extra url.Values
		field string // where the error shows
		says  string
	}{
		{"no preset", nil, "ike_proposals", `accepted only with the &#34;legacy&#34; preset and the weak-crypto acknowledgment`},
		{"preset, box not ticked", url.Values{"preset": {"legacy"}}, "accept_weak_crypto", `must be true to use the &#34;legacy&#34; preset`},
		{"box ticked, no preset", url.Values{"accept_weak_crypto": {"on"}}, "accept_weak_crypto", "only the &#34;legacy&#34; preset allows it"},
	} {
		st, _, body := h.post("/tunnels/new", aws(tc.extra))
		i := strings.Index(body, `id="f-`+tc.field+`"`)
		if st != http.StatusUnprocessableEntity || i < 0 || !strings.Contains(body[i:min(len(body), i+1500)], tc.says) {
			t.Errorf("%s: %d; want 422 with %q next to %s\n%.3000s", tc.name, st, tc.says, tc.field, body)
		}
	}
	if st, path, body := h.post("/tunnels/new", aws(url.Values{"preset": {"legacy"}, "accept_weak_crypto": {"on"}})); st != 200 || path != "/apply" {
		t.Fatalf("save with the preset and the box ticked: %d at %s\n%.2000s", st, path, body)
	}
	c, _, _ := h.box.Config()
	if got := c.Tunnels[len(c.Tunnels)-1]; got.Preset != config.LegacyPreset || !got.AcceptWeakCrypto {
		t.Errorf("saved preset %q, acknowledgment %v", got.Preset, got.AcceptWeakCrypto)
	}
	for _, page := range []string{"/overview", "/ipsec"} {
		_, _, body := h.get(page)
		if !strings.Contains(body, `<span class="weak" id="weak-aws"`) || strings.Count(body, `class="weak"`) != 1 {
			t.Errorf("%s does not mark aws, and only aws, weak crypto:\n%.3000s", page, body)
		}
	}
	_, _, body := h.get("/api/ipsec")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/api/ipsec: %v", err)
	}
	for _, ts := range st.Tunnels {
		if ts.WeakCrypto != (ts.Name == "aws") {
			t.Errorf("/api/ipsec: %s weak_crypto = %v", ts.Name, ts.WeakCrypto)
		}
	}
	if _, _, body := h.get("/tunnels/aws/edit"); !strings.Contains(body, `name="accept_weak_crypto" id="accept_weak_crypto" checked`) {
		t.Errorf("the edit form does not show the acknowledgment ticked")
	}
}
