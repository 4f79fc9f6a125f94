package webui

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// RouterAdmin is implemented by a Box that can enroll the OpenZiti router.
// It is separate from Box so a Box without a router (tests, a box with no
// /perm) still satisfies Box; the Router page then only shows status.
type RouterAdmin interface {
	// EnrollRouter checks jwt (kind, https issuer, expiry) and says what
	// is wrong in plain words, else enrolls, deletes the token, and
	// (re)starts the router; progress hears each step. On any failure the
	// box is as it was.
	EnrollRouter(ctx context.Context, jwt []byte, progress func(step string)) error
	// UnenrollRouter stops the router and removes its identity.
	UnenrollRouter(ctx context.Context) error
}

// SetupEnroller is implemented by a Box that can enroll the router as a
// step of the apply that follows a save: the setup wizard's router step.
type SetupEnroller interface {
	// CheckRouterToken says in plain words what is wrong with jwt (shape,
	// kind, issuer, expiry), or nil.
	CheckRouterToken(jwt []byte) error
	// SaveAndEnroll is Save, and the apply that follows also enrolls the
	// router with jwt the way EnrollRouter does, its steps in Progress;
	// the apply's last event comes once both are done.
	SaveAndEnroll(ctx context.Context, ch control.Change, jwt []byte) (config.FieldErrors, error)
}

// maxTokenBytes bounds an uploaded or pasted token: real ones are ~1 KB.
const maxTokenBytes = 16 << 10

// routerData is the Router page's data.
type routerData struct {
	Router   RouterStatus `json:"router"`
	CanAdmin bool         `json:"can_admin"`
	Steps    []string     `json:"steps,omitempty"` // the last enrollment's progress
	Result   string       `json:"result,omitempty"`
}

// routerLast keeps the last enrollment's steps for the page shown after
// the redirect (one box, one operator at a time).
type routerLast struct {
	mu     sync.Mutex
	steps  []string
	result string
}

func (s *Server) routerPage(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Router", "router")
	_, can := s.box.(RouterAdmin)
	d := routerData{Router: s.box.Status().Router, CanAdmin: can}
	s.routerLast.mu.Lock()
	d.Steps, d.Result = s.routerLast.steps, s.routerLast.result
	s.routerLast.mu.Unlock()
	p.Data = d
	s.render(w, r, "router", p)
}

// tokenFrom reads the token from the form: an uploaded file wins over
// the pasted text. Spaces, quotes and line breaks are dropped.
func tokenFrom(r *http.Request) []byte {
	var raw string
	if f, _, err := r.FormFile("jwt_file"); err == nil {
		b, _ := io.ReadAll(io.LimitReader(f, maxTokenBytes))
		f.Close()
		raw = string(b)
	}
	if strings.TrimSpace(raw) == "" {
		raw = r.FormValue("jwt")
	}
	return normalizeToken(raw)
}

// normalizeToken drops surrounding quotes and every space and line break
// (a JWT has none; mail and terminals add them), at most maxTokenBytes.
func normalizeToken(raw string) []byte {
	if len(raw) > 4*maxTokenBytes {
		raw = raw[:4*maxTokenBytes]
	}
	raw = strings.Trim(strings.TrimSpace(raw), `"'`)
	t := strings.Join(strings.Fields(raw), "")
	if len(t) > maxTokenBytes {
		t = t[:maxTokenBytes] // ParseToken says it is malformed
	}
	return []byte(t)
}

// routerForm is the setup wizard's router step: a token to enroll with
// at apply, or Skip (enroll later on the Router page).
type routerForm struct {
	JWT  []byte
	Skip bool
}

func decodeRouterForm(v url.Values) routerForm {
	f := routerForm{Skip: v.Get("skip") != ""}
	if !f.Skip {
		f.JWT = normalizeToken(v.Get("jwt"))
	}
	return f
}

func (s *Server) routerEnroll(w http.ResponseWriter, r *http.Request, sess *session) {
	ra, ok := s.box.(RouterAdmin)
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "this box cannot enroll a router")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 2*maxTokenBytes)
	r.ParseMultipartForm(2 * maxTokenBytes)
	jwt := tokenFrom(r)
	if len(jwt) == 0 {
		s.fail(w, r, http.StatusUnprocessableEntity, "paste the router's enrollment JWT or choose its .jwt file")
		return
	}
	var steps []string
	err := ra.EnrollRouter(r.Context(), jwt, func(step string) { steps = append(steps, step) })
	result := "Enrolled; the router is starting."
	if err != nil {
		result = "Enrollment failed, nothing changed: " + err.Error()
	}
	s.routerLast.mu.Lock()
	s.routerLast.steps, s.routerLast.result = steps, result
	s.routerLast.mu.Unlock()
	if err != nil {
		if wantJSON(r) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": []apiError{{"jwt", err.Error()}}, "steps": steps})
			return
		}
		s.fail(w, r, http.StatusUnprocessableEntity, result)
		return
	}
	done(w, r, "/router", map[string]any{"steps": steps})
}

func (s *Server) routerUnenroll(w http.ResponseWriter, r *http.Request, sess *session) {
	ra, ok := s.box.(RouterAdmin)
	if !ok {
		s.fail(w, r, http.StatusNotImplemented, "this box cannot un-enroll a router")
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.fail(w, r, http.StatusUnprocessableEntity, "tick the box to confirm: the router stops and its identity is deleted")
		return
	}
	if err := ra.UnenrollRouter(r.Context()); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "un-enroll failed: "+err.Error())
		return
	}
	s.routerLast.mu.Lock()
	s.routerLast.steps, s.routerLast.result = nil, "Un-enrolled: the router is stopped and its identity removed."
	s.routerLast.mu.Unlock()
	done(w, r, "/router", nil)
}
