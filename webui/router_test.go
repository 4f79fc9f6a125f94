package webui

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
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
