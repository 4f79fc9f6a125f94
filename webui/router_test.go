package webui

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// routerBox is the fake box with a router that can be enrolled.
type routerBox struct {
	*fakeBox
	mu       sync.Mutex
	tokens   []string
	enrolled bool
}

func (r *routerBox) EnrollRouter(ctx context.Context, jwt []byte, progress func(string)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, string(jwt))
	if !strings.HasPrefix(string(jwt), "eyJ") {
		return errors.New("malformed enrollment token: a JWT has three parts separated by dots")
	}
	progress("token checked")
	progress("making a key and asking the controller for certificates")
	r.enrolled = true
	return nil
}

func (r *routerBox) UnenrollRouter(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.enrolled = false
	return nil
}

func (r *routerBox) Status() Status {
	st := r.fakeBox.Status()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.enrolled {
		st.Router = RouterStatus{State: "running", Enrolled: true, Detail: "connected to its controller"}
	}
	return st
}

// The Router page: a bad token is refused in plain words and nothing is
// enrolled; a pasted token (spaces and quotes dropped) enrolls and the
// page lists the steps; un-enrolling needs the confirmation box. The
// token never comes back in a page.
func TestRouterPageEnrolls(t *testing.T) {
	h := newHarness(t)
	rb := &routerBox{fakeBox: h.box}
	h.srv.box = rb
	tok := h.setup()

	st, _, body := h.get("/router")
	if st != 200 || !strings.Contains(body, "not enrolled") || !strings.Contains(body, `action="/router/enroll"`) {
		t.Fatalf("router page: %d\n%s", st, body)
	}
	st, _, body = h.post("/router/enroll", url.Values{"csrf": {tok}, "jwt": {"garbage"}})
	if st != 422 || !strings.Contains(body, "malformed enrollment token") || !strings.Contains(body, "nothing changed") {
		t.Errorf("bad token: %d\n%s", st, body)
	}
	st, _, body = h.post("/router/enroll", url.Values{"csrf": {tok}, "jwt": {"  \"eyJhead.body\n.sig\"  "}})
	if st != 200 || !strings.Contains(body, "making a key") || !strings.Contains(body, "connected to its controller") {
		t.Errorf("enroll: %d\n%s", st, body)
	}
	if strings.Join(rb.tokens, " ") != "garbage eyJhead.body.sig" {
		t.Errorf("tokens passed on: %q", rb.tokens)
	}
	if strings.Contains(body, "eyJhead") {
		t.Errorf("the page shows the token")
	}
	if st, _, _ := h.post("/router/enroll", url.Values{"jwt": {"eyJx.y.z"}}); st != 403 {
		t.Errorf("enroll without CSRF token: %d, want 403", st)
	}
	if st, _, _ := h.post("/router/unenroll", url.Values{"csrf": {tok}}); st != 422 || !rb.enrolled {
		t.Errorf("un-enroll without confirmation: %d, enrolled %v", st, rb.enrolled)
	}
	if st, _, body := h.post("/router/unenroll", url.Values{"csrf": {tok}, "confirm": {"yes"}}); st != 200 || rb.enrolled || !strings.Contains(body, "Un-enrolled") {
		t.Errorf("un-enroll: %d, enrolled %v\n%s", st, rb.enrolled, body)
	}
}

// CheckRouterToken and SaveAndEnroll make the fake a SetupEnroller: a
// token that does not start like a JWT is malformed, one with "expired"
// in it has expired; an enrollment at apply adds its steps to the apply's
// progress.
func (r *routerBox) CheckRouterToken(jwt []byte) error {
	switch {
	case !strings.HasPrefix(string(jwt), "eyJ") || strings.Count(string(jwt), ".") != 2:
		return errors.New("malformed enrollment token: a JWT has three parts separated by dots")
	case strings.Contains(string(jwt), "expired"):
		return errors.New("enrollment token expired 3h ago (2026-11-23 01:00); create a new one on the controller")
	}
	return nil
}

func (r *routerBox) SaveAndEnroll(ctx context.Context, c control.Change, jwt []byte) (config.FieldErrors, error) {
	if err := r.CheckRouterToken(jwt); err != nil {
		return config.FieldErrors{{Field: "router.jwt", Message: err.Error()}}, nil
	}
	errs, err := r.fakeBox.Save(ctx, c)
	if len(errs) > 0 || err != nil {
		return errs, err
	}
	if err := r.EnrollRouter(ctx, jwt, func(string) {}); err != nil {
		return nil, err
	}
	r.fakeBox.mu.Lock()
	defer r.fakeBox.mu.Unlock()
	last := r.fakeBox.events[len(r.fakeBox.events)-1]
	last.Seq += 2
	last.Message += "; router enrolled"
	enrolled := ApplyEvent{Seq: last.Seq - 1, Step: "router", State: "ok", Message: "enrolled; the router is starting"}
	r.fakeBox.events = append(r.fakeBox.events[:len(r.fakeBox.events)-1], enrolled, last)
	return nil, nil
}

// setupTo walks the wizard with good answers up to (not into) step.
func (h *harness) setupTo(step string) string {
	h.t.Helper()
	if st, _, body := h.post("/setup", url.Values{"code": {"abcd-2345"}}); st != 200 || strings.Contains(body, `class="err"`) {
		h.t.Fatalf("setup code: %d %s", st, body)
	}
	tok := h.csrf()
	for _, s := range []struct {
		step string
		form url.Values
	}{
		{"password", url.Values{"password": {"correct horse battery"}, "confirm": {"correct horse battery"}}},
		{"interfaces", url.Values{"wan_mode": {"dhcp"}, "lan_mode": {"dhcp"}}},
		{"tunnel", goodTunnel()},
	} {
		if s.step == step {
			break
		}
		s.form.Set("csrf", tok)
		if st, path, body := h.post("/setup/"+s.step, s.form); st != 200 || strings.Contains(body, `class="err"`) {
			h.t.Fatalf("step %s: %d %s\n%s", s.step, st, path, body)
		}
	}
	return tok
}

// The wizard's router step: a bad or expired token is shown next to the
// field with nothing kept or saved; a good one is enrolled at apply, its
// step in the progress; the token never comes back in a page or answer.
func TestSetupRouterStep(t *testing.T) {
	const good = "eyJhbGciOiJSUzI1NiJ9.eyJlbSI6ImVyb3R0In0.c2ln"
	for _, c := range []struct {
		name, jwt string
		skip      bool
		wantErr   string // next to the jwt field
		enrolls   bool
	}{
		{name: "malformed", jwt: "not-a-token", wantErr: "malformed enrollment token"},
		{name: "expired", jwt: "eyJhead.expired.sig", wantErr: "expired 3h ago"},
		{name: "skip with text in the field", jwt: "not-a-token", skip: true},
		{name: "empty is a skip", jwt: "  "},
		{name: "good, pasted across lines and quoted", jwt: "\"" + good[:20] + "\n" + good[20:] + "\"", enrolls: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			rb := &routerBox{fakeBox: h.box}
			h.srv.box = rb
			tok := h.setupTo("router")
			form := url.Values{"csrf": {tok}, "jwt": {c.jwt}}
			if c.skip {
				form.Set("skip", "1")
			}
			st, path, body := h.post("/setup/router", form)
			if c.wantErr != "" {
				if msg := fieldErr(body, "jwt"); st != 422 || !strings.Contains(msg, c.wantErr) {
					t.Fatalf("token %q: %d %s, message next to the field %q\n%s", c.jwt, st, path, msg, body)
				}
				if strings.Contains(body, c.jwt) {
					t.Errorf("the page shows the token back")
				}
				// The JSON API says the same, by field.
				st, _, body := h.do(h.c, "POST", "/api/setup/router", form, nil)
				if st != 422 || !strings.Contains(body, `"field": "jwt"`) || !strings.Contains(body, c.wantErr) {
					t.Errorf("API: %d %s", st, body)
				}
				// Nothing kept: the review step is not open yet, nothing saved.
				if _, path, _ := h.get("/setup/review"); path != "/setup/router" {
					t.Errorf("after a refused token the review opens (%s)", path)
				}
				if n := rb.saveCount(); n != 0 || len(rb.tokens) != 0 {
					t.Errorf("after a refused token: %d saves, tokens used %q", n, rb.tokens)
				}
				return
			}
			if st != 200 || path != "/setup/review" {
				t.Fatalf("router step: %d %s\n%s", st, path, body)
			}
			wantReview := "not enrolled; enroll it later"
			if c.enrolls {
				wantReview = "enrolled at apply with the token given"
			}
			if !strings.Contains(body, wantReview) {
				t.Errorf("review does not say %q\n%s", wantReview, body)
			}
			st, path, body = h.post("/setup/review", url.Values{"csrf": {tok}})
			if st != 200 || path != "/apply" {
				t.Fatalf("review: %d %s\n%s", st, path, body)
			}
			_, _, prog := h.get("/api/progress?after=0")
			if got := strings.Join(rb.tokens, " "); c.enrolls != (got == good) {
				t.Errorf("tokens enrolled: %q", got)
			}
			if c.enrolls != strings.Contains(prog, "router enrolled") {
				t.Errorf("progress:\n%s", prog)
			}
			for _, p := range append(pages(h), "/router", "/api/router", "/api/progress?after=0") {
				if _, _, body := h.get(p); strings.Contains(body, good[:30]) || strings.Contains(body, good[30:]) {
					t.Errorf("%s shows the token", p)
				}
			}
		})
	}
}

// A box that cannot enroll: the step says so, and only Skip goes on.
func TestSetupRouterStepWithoutRouter(t *testing.T) {
	h := newHarness(t)
	tok := h.setupTo("router")
	if _, _, body := h.get("/setup/router"); !strings.Contains(body, "no router to enroll") || strings.Contains(body, `id="jwt"`) {
		t.Errorf("router step without a router:\n%s", body)
	}
	if st, _, _ := h.post("/setup/router", url.Values{"csrf": {tok}, "jwt": {"eyJa.b.c"}}); st != 422 {
		t.Errorf("a token on a box without a router: %d, want 422", st)
	}
	if st, path, _ := h.post("/setup/router", url.Values{"csrf": {tok}, "skip": {"1"}}); st != 200 || path != "/setup/review" {
		t.Errorf("skip: %d %s", st, path)
	}
}
