package webui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/control"
)

// Network changes go on trial unless the operator unticks the box (or an
// API client says trial_minutes=0); other changes only when asked.
func TestTrialOfChanges(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	network := func(extra url.Values) url.Values {
		v := url.Values{"csrf": {tok}, "confirm": {"yes"}, "wan_mode": {"dhcp"}, "lan_mode": {"dhcp"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	tests := []struct {
		name, path string
		form       url.Values
		want       time.Duration
		status     int
	}{
		{"network form, box ticked", "/settings/network", network(url.Values{"trial_form": {"1"}, "trial": {"on"}, "trial_minutes": {"2"}}), 2 * time.Minute, http.StatusOK},
		{"network form, box unticked", "/settings/network", network(url.Values{"trial_form": {"1"}, "trial_minutes": {"5"}}), 0, http.StatusOK},
		{"network API, no word on it", "/api/settings/network", network(nil), control.DefaultTrial, http.StatusOK},
		{"network API, for good", "/api/settings/network", network(url.Values{"trial_minutes": {"0"}}), 0, http.StatusOK},
		{"system API, no word on it", "/api/settings/system", url.Values{"hostname": {"b1"}}, 0, http.StatusOK},
		{"system API on trial", "/api/settings/system", url.Values{"hostname": {"b2"}, "trial_minutes": {"10"}}, 10 * time.Minute, http.StatusOK},
		{"too long a trial", "/api/settings/system", url.Values{"hostname": {"b3"}, "trial_minutes": {"600"}}, -1, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.box.trials)
			st, _, body := h.do(h.c, "POST", tc.path, tc.form, map[string]string{"X-CSRF-Token": tok})
			if st != tc.status {
				t.Fatalf("%d %s", st, body)
			}
			if tc.want < 0 {
				if len(h.box.trials) != before || !strings.Contains(body, "trial_minutes") {
					t.Errorf("a refused trial saved, or no message: %s", body)
				}
				return
			}
			if got := h.box.trials[len(h.box.trials)-1]; len(h.box.trials) != before+1 || got != tc.want {
				t.Errorf("trial %v, want %v", got, tc.want)
			}
		})
	}
	if _, _, page := h.get("/settings"); !strings.Contains(page, `name="trial" value="on" checked`) {
		t.Error("the network form does not propose a trial by default")
	}
}

// While a trial runs every page shows the countdown; another session
// confirms it, and a second confirmation is told there is none.
func TestTrialBannerAndConfirm(t *testing.T) {
	h := newHarness(t)
	h.setup()
	h.box.mu.Lock()
	h.box.trial = &control.TrialStatus{Generation: 2, Previous: 1, Deadline: h.now.Add(4*time.Minute + 7*time.Second), Source: control.FromWebUI}
	h.box.mu.Unlock()
	for _, path := range []string{"/overview", "/ipsec", "/settings", "/tunnels"} {
		_, _, body := h.get(path)
		if !strings.Contains(body, `id="trial-banner"`) || !strings.Contains(body, ">4:07<") || !strings.Contains(body, "goes back to generation 1") {
			t.Errorf("%s: no countdown banner", path)
		}
	}
	// A second browser logs in and confirms.
	other := h.client()
	st, _, body := h.do(other, "POST", "/api/login", url.Values{"password": {"correct horse battery"}}, nil)
	if st != 200 {
		t.Fatalf("second login: %d %s", st, body)
	}
	var login struct{ CSRF string }
	if err := json.Unmarshal([]byte(body), &login); err != nil || login.CSRF == "" {
		t.Fatalf("second login answer: %v %s", err, body)
	}
	csrf := login.CSRF
	if st, _, body := h.do(other, "POST", "/api/trial/confirm", url.Values{}, map[string]string{"X-CSRF-Token": csrf}); st != 200 {
		t.Fatalf("confirm from the second session: %d %s", st, body)
	}
	if _, _, body := h.get("/overview"); strings.Contains(body, `id="trial-banner"`) {
		t.Error("the banner stays after the confirmation")
	}
	if st, _, _ := h.do(other, "POST", "/api/trial/confirm", url.Values{}, map[string]string{"X-CSRF-Token": csrf}); st != http.StatusConflict {
		t.Errorf("a confirmation with no trial: %d, want 409", st)
	}
}
