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

func everyProfileSetting() url.Values {
	v := everyTunnelSetting()
	for _, k := range []string{"peer_address", "local_address", "remote_networks", "local_networks", "mode", "if_id", "routes"} {
		v.Del(k)
	}
	v.Set("name", "fortigate-hq")
	return v
}

// A profile is made, shown and changed through its form, with every
// IPsec setting; an empty key field keeps the key; generate offers one.
func TestProfileForm(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	form := everyProfileSetting()
	form.Set("csrf", tok)
	if st, path, body := h.post("/profiles/new", form); st != 200 || path != "/apply" {
		t.Fatalf("save: %d at %s\n%s", st, path, body)
	}
	c, _, _ := h.box.Config()
	off := false
	want := config.Profile{Name: "fortigate-hq", IKESettings: config.IKESettings{Preset: "fortigate", IKEVersion: config.IKEv2,
		LocalID: "box.example.com", RemoteID: "hq.example.com", PSK: c.Profiles[0].PSK,
		IKEProposals: []string{"aes256gcm16-prfsha384-ecp384"}, ESPProposals: []string{"aes256gcm16-ecp384"},
		IKELifetime: config.Dur(4 * time.Hour), ChildLifetime: config.Dur(45 * time.Minute), DPDDelay: config.Dur(20 * time.Second),
		DPDTimeout: config.Dur(2 * time.Minute), Initiation: config.Responder, MOBIKE: &off, Reauth: true, ForceUDPEncap: true}}
	if diff := cmp.Diff([]config.Profile{want}, c.Profiles); diff != "" {
		t.Errorf("saved profiles (-want +got):\n%s", diff)
	}
	_, _, list := h.get("/sites")
	if !strings.Contains(list, `id="profile-fortigate-hq"`) {
		t.Error("the Sites page does not list the profile")
	}

	// Edit with the key left empty: the key stays, the change is saved.
	_, _, page := h.get("/profiles/fortigate-hq/edit")
	if strings.Contains(page, otherPSK) || !strings.Contains(page, `value="45m"`) || !strings.Contains(page, "keep the stored key") {
		t.Error("the edit form shows the key, or not the settings")
	}
	form.Set("psk", "")
	form.Set("child_lifetime", "30m")
	if st, path, body := h.post("/profiles/fortigate-hq/edit", form); st != 200 || path != "/apply" {
		t.Fatalf("edit: %d at %s\n%s", st, path, body)
	}
	h.box.mu.Lock()
	key, life := h.box.cfg.Profiles[0].PSK.Reveal(), h.box.cfg.Profiles[0].ChildLifetime
	h.box.mu.Unlock()
	if key != otherPSK || life != config.Dur(30*time.Minute) {
		t.Errorf("after the edit: key kept %v, child lifetime %v", key == otherPSK, life)
	}

	// Generate: a strong key shown once, nothing saved.
	saves := h.box.saveCount()
	gen := everyProfileSetting()
	gen.Set("csrf", tok)
	gen.Set("action", "generate")
	if _, _, body := h.post("/profiles/new", gen); !strings.Contains(body, "Generated now") || h.box.saveCount() != saves {
		t.Error("generate did not offer a key, or saved")
	}

	// A wrong value in each kind of field is named next to it.
	for _, tc := range []struct{ field, value, want string }{
		{"name", "Bad Name", "not a valid name"},
		{"psk", "password", "too short"},
		{"preset", "acme", "not a known preset"},
		{"ike_proposals", "aes128-sha1-modp1024", "line 1:"},
		{"ike_lifetime", "2d", "not a duration"},
		{"dpd_delay", "1h", "outside the range"},
		{"initiation", "maybe", "initiator or responder"},
	} {
		bad := everyProfileSetting()
		bad.Set("name", "p2")
		bad.Set("psk", "Xk2-Wd8pLr5tQm3vBn7cZs4Hy9")
		bad.Set("csrf", tok)
		bad.Set(tc.field, tc.value)
		st, _, body := h.post("/profiles/new", bad)
		if msg := fieldErr(body, tc.field); st != http.StatusUnprocessableEntity || !strings.Contains(msg, tc.want) {
			t.Errorf("%s=%q: %d, next to the field %q, want %q\n%s", tc.field, tc.value, st, msg, tc.want, generalErrors(body))
		}
	}
	if h.box.saveCount() != saves {
		t.Error("a profile form with errors saved")
	}
}
