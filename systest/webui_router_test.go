package systest

import (
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestWebUISetupEnrollsRouter: the setup wizard's router step against a
// real controller (ziti edge quickstart on the WAN side). A token that is
// not a JWT is refused by field over the JSON API; the controller's token
// is enrolled at apply, the progress's last event waits for it, the
// router then connects, and the token shows in no answer and no console
// line.
func TestWebUISetupEnrollsRouter(t *testing.T) {
	requireTools(t)
	w := newWebLab(t)
	ov := newOverlay(t, w.lab)
	jwt := ov.routerToken(boxRouter)
	w.waitWebUI(t)
	csrf := w.apiSetup(t) // skips the router step
	status, ans := w.postStatus(t, csrf, "/api/setup/router", url.Values{"jwt": {"eyJnot.a-token"}})
	if errs, _ := ans["errors"].([]any); status != 422 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "jwt" {
		t.Errorf("a bad token: %d %v; want 422 with the error on jwt", status, ans)
	}
	w.post(t, csrf, "/api/setup/router", url.Values{"jwt": {jwt}})
	start := time.Now()
	w.post(t, csrf, "/api/setup/review", nil)
	e := w.waitApplied(t)
	t.Logf("setup submitted to tunnel up and router enrolled: %.1fs: %s", time.Since(start).Seconds(), e.Message)
	if !strings.Contains(e.Message, "router enrolled") {
		t.Errorf("last event %q does not say the router was enrolled", e.Message)
	}
	w.login(t)
	var body string
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(2 * time.Second) {
		resp, err := w.client.Get(w.base + "/api/router")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, `"state": "running"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("router not running 3 minutes after enrollment: %s\n%s", body, w.vm.Console.Tail(30))
		}
	}
	for _, p := range []string{"/api/router", "/api/progress?after=0", "/api/logs?window=all", "/api/overview", "/settings/backup"} {
		resp, err := w.client.Get(w.base + p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), jwt) {
			t.Errorf("%s answers the enrollment token", p)
		}
	}
	if strings.Contains(w.vm.Console.Output(), jwt) {
		t.Error("the console shows the enrollment token")
	}
}
