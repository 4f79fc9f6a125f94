package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// Every change says which generation of the settings it was based on, so
// the box can refuse one that would silently undo a change saved since
// (from the console, another tab or another API client). Pages carry it in
// a hidden "generation" field; API clients send the ETag a GET answered
// back in If-Match, the way HTTP does optimistic concurrency.

// etag names generation gen.
func etag(gen int) string { return fmt.Sprintf(`"config-%d"`, gen) }

// baseGeneration reads the generation r's change was based on.
func baseGeneration(r *http.Request) (int, error) {
	if v := strings.TrimSpace(r.PostFormValue("generation")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("generation %q is not a generation number", v)
		}
		return n, nil
	}
	if v := strings.TrimSpace(r.Header.Get("If-Match")); v != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "W/"), `"config-`), `"`))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("If-Match %s is not an ETag this box gave (like %s)", v, etag(1))
		}
		return n, nil
	}
	return 0, errors.New("this change does not say which settings it was based on: send the generation field, or If-Match with the ETag a GET of the page answered")
}

// source names where r came from, for the config history.
func source(r *http.Request) control.Source {
	if wantJSON(r) {
		return control.FromAPI
	}
	return control.FromWebUI
}

// saveChange hands c to the box as a change of r. On field errors it
// renders page tmpl with them; a change based on an older generation is
// refused with "changed elsewhere" and a reload; it reports whether c was
// saved.
func (s *Server) saveChange(w http.ResponseWriter, r *http.Request, p *page, c config.Config, tmpl string, mapErrs func(config.FieldErrors)) bool {
	base, err := baseGeneration(r)
	if err != nil {
		s.fail(w, r, http.StatusPreconditionRequired, err.Error())
		return false
	}
	trial, ok := s.trialField(w, r, p, tmpl)
	if !ok {
		return false
	}
	errs, err := s.box.Save(r.Context(), control.Change{Config: c, Base: base, Source: source(r), Trial: trial})
	return s.saveOutcome(w, r, p, base, tmpl, errs, err, mapErrs)
}

// saveOutcome answers what a save of r based on generation base
// returned, as saveChange does, and reports whether it saved.
func (s *Server) saveOutcome(w http.ResponseWriter, r *http.Request, p *page, base int, tmpl string, errs config.FieldErrors, err error, mapErrs func(config.FieldErrors)) bool {
	switch {
	case s.changeFailed(w, r, err, "save the configuration"):
		return false
	case len(errs) > 0:
		p.Gen = base // the operator fixes the form they started from
		mapErrs(errs)
		s.render(w, r, tmpl, p)
		return false
	}
	return true
}

// changeFailed answers a change the box did not make: one based on an
// older generation with "changed elsewhere", a full /perm with 507, any
// other error with 500 and what was attempted ("save the configuration").
// It reports whether err was such a failure.
func (s *Server) changeFailed(w http.ResponseWriter, r *http.Request, err error, what string) bool {
	var stale *control.StaleError
	switch {
	case err == nil:
		return false
	case errors.As(err, &stale):
		s.staleChange(w, r, stale)
	case errors.Is(err, config.ErrPermFull):
		s.logf("webui: %s: %v", what, err)
		s.fail(w, r, http.StatusInsufficientStorage, config.ErrPermFull.Error()) // the details are in the log
	default:
		s.logf("webui: %s: %v", what, err)
		s.fail(w, r, http.StatusInternalServerError, "the box could not "+what+": "+err.Error())
	}
	return true
}

// staleChange answers a change based on an older generation: 409 with the
// newest generation for the API, a page with a reload for browsers.
func (s *Server) staleChange(w http.ResponseWriter, r *http.Request, e *control.StaleError) {
	if wantJSON(r) {
		w.Header().Set("ETag", etag(e.Newest))
		writeJSON(w, http.StatusConflict, map[string]any{"errors": []apiError{{"generation", e.Error()}}, "generation": e.Newest})
		return
	}
	p := &page{Title: "Changed elsewhere", General: []string{e.Error()}}
	if sess := s.sessions.get(r, s.now()); sess != nil && !sess.setup {
		p.LoggedIn, p.CSRF = true, sess.csrf
	}
	reload := r.URL.Path
	if ref := r.Referer(); ref != "" && sameHostReferer(r, ref) {
		reload = ref
	}
	p.Data = map[string]any{"Reload": reload}
	s.renderStatus(w, r, http.StatusConflict, "stale", p)
}

// sameHostReferer keeps the reload link on this box.
func sameHostReferer(r *http.Request, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "https://"+r.Host+"/")
	return ok && !strings.HasPrefix(rest, "/")
}
