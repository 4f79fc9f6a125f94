package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/control"
)

// Trial changes (issue 14): a change can be applied on trial; unless it is
// confirmed before its deadline the box goes back by itself. Every page
// shows the countdown with Confirm and Revert buttons; any session (or
// the API: POST /api/trial/confirm) can confirm.

// maxTrialMinutes bounds a trial: longer ones defeat the purpose.
const maxTrialMinutes = 60

// trialByDefault: changes that can cut the operator off from the box
// (interfaces, addresses, the web UI's allowed networks) and restores
// (of a generation or a backup) go on trial unless the operator says
// otherwise.
func trialByDefault(path string) bool {
	return strings.HasSuffix(path, "/settings/network") || strings.HasSuffix(path, "/restore")
}

// trialOf reads how long r's change runs on trial, 0 for good. A page's
// form says it with its trial checkbox and minutes (trial_form marks the
// form, so an unticked box means no trial); an API client with
// trial_minutes (0: for good), else the default for the path.
func trialOf(r *http.Request) (time.Duration, error) {
	minutes := strings.TrimSpace(r.PostFormValue("trial_minutes"))
	switch {
	case r.PostFormValue("trial_form") != "":
		if r.PostFormValue("trial") == "" {
			return 0, nil
		}
	case minutes == "" && trialByDefault(r.URL.Path):
		return control.DefaultTrial, nil
	case minutes == "":
		return 0, nil
	}
	if minutes == "" {
		return control.DefaultTrial, nil
	}
	n, err := strconv.Atoi(minutes)
	if err != nil || n < 0 || n > maxTrialMinutes {
		return 0, fmt.Errorf("trial_minutes %q: give the minutes to wait for a confirmation, 1 to %d (0 applies the change for good)", minutes, maxTrialMinutes)
	}
	return time.Duration(n) * time.Minute, nil
}

// trialField reads how long r's change runs on trial (trialOf); a bad
// value is an error next to the page's trial field: page tmpl is rendered
// with it and ok is false.
func (s *Server) trialField(w http.ResponseWriter, r *http.Request, p *page, tmpl string) (time.Duration, bool) {
	trial, err := trialOf(r)
	if err != nil {
		p.addErr("trial_minutes", err.Error())
		s.render(w, r, tmpl, p)
		return 0, false
	}
	return trial, true
}

// trialAction confirms or reverts the running trial (POST /trial/confirm,
// /trial/revert): from any logged-in session or API client.
func (s *Server) trialAction(w http.ResponseWriter, r *http.Request, sess *session) {
	kind := control.ActConfirmTrial
	if r.PathValue("action") == "revert" {
		kind = control.ActRevertTrial
	} else if r.PathValue("action") != "confirm" {
		s.fail(w, r, http.StatusNotFound, "a trial can be confirmed or reverted: POST /trial/confirm or /trial/revert")
		return
	}
	err := s.box.Do(r.Context(), control.Action{Kind: kind, Source: source(r)})
	if errors.Is(err, control.ErrNoTrial) {
		s.fail(w, r, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.logf("webui: trial %s from %s", r.PathValue("action"), sourceKey(r))
	to := "/"
	if ref := r.Referer(); ref != "" && sameHostReferer(r, ref) {
		to = ref
	}
	done(w, r, to, nil)
}

// TrialLeft is the countdown's first value, before the script ticks it.
func (p *page) TrialLeft() string {
	if p.Trial == nil {
		return ""
	}
	d := p.Trial.Deadline.Sub(p.Now).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
