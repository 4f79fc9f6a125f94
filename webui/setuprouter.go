package webui

import (
	"net/http"
)

// The setup wizard's router step: the router's enrollment JWT, checked
// here (shape, kind, issuer, expiry: the reason goes next to the field and
// nothing is kept), used at apply (SetupEnroller.SaveAndEnroll) with its
// progress next to the tunnel's. Skipping leaves the router for the
// Router page.

// setupRouterStep reads the router step. It reports whether the wizard
// goes on; if not, it has shown the step again with the problem.
func (s *Server) setupRouterStep(w http.ResponseWriter, r *http.Request, sess *session, p *page) bool {
	f := decodeRouterForm(r.PostForm)
	if !f.Skip && len(f.JWT) == 0 {
		f.JWT = tokenFrom(r) // or the .jwt file
	}
	switch {
	case f.Skip:
		sess.routerJWT = nil
		return true
	case len(f.JWT) == 0:
		return true // nothing pasted: no enrollment, or the token given before
	}
	se, ok := s.box.(SetupEnroller)
	if !ok {
		p.addErr("jwt", "this box cannot enroll a router; skip this step")
		s.render(w, r, "setup", p)
		return false
	}
	if err := se.CheckRouterToken(f.JWT); err != nil {
		sess.routerJWT = nil
		p.addErr("jwt", err.Error())
		s.render(w, r, "setup", p)
		return false
	}
	sess.routerJWT = f.JWT
	return true
}
