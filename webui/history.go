package webui

import (
	"net/http"
	"strconv"
	"time"
)

// The config history (issue 14) on the Settings page and in the API: each
// saved generation with its time, where it came from and what it changed
// (secrets as "changed", never their values). Any generation can be
// restored behind one confirmation, on trial by default like any change.

// historyLines is how many changes a generation shows before "and N more".
const historyLines = 5

// historyEntry is one generation as the page and GET /api/settings/history
// show it.
type historyEntry struct {
	Generation   int       `json:"generation"`
	Saved        time.Time `json:"saved"`
	Source       string    `json:"source"` // "—": saved by older firmware
	RestoredFrom int       `json:"restored_from,omitempty"`
	Summary      []string  `json:"summary"`
	Current      bool      `json:"current"`
	// Problem says why the generation cannot be restored ("" when it can).
	Problem string `json:"problem,omitempty"`
}

// historyOf lists the box's generations; current is the newest saved.
func (s *Server) historyOf(current int) ([]historyEntry, error) {
	h, err := s.box.History()
	if err != nil {
		return nil, err
	}
	out := make([]historyEntry, 0, len(h))
	for _, g := range h {
		e := historyEntry{Generation: g.Seq, Saved: g.Saved, Source: g.Source, RestoredFrom: g.RestoredFrom,
			Summary: g.Summary(historyLines), Current: g.Seq == current}
		if e.Source == "" {
			e.Source = "—"
		}
		if g.Problem != nil {
			e.Problem = g.Problem.Error()
		}
		out = append(out, e)
	}
	return out, nil
}

// history answers GET /settings/history: the list for the API, the
// Settings page's history card for a browser.
func (s *Server) history(w http.ResponseWriter, r *http.Request, sess *session) {
	if !wantJSON(r) {
		http.Redirect(w, r, "/settings#history", http.StatusSeeOther)
		return
	}
	_, gen, _ := s.box.Config()
	h, err := s.historyOf(gen)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.Header().Set("ETag", etag(gen))
	writeJSON(w, http.StatusOK, map[string]any{"generation": gen, "history": h})
}

// historyRestoreData is the confirmation page of a restore.
type historyRestoreData struct {
	Entry historyEntry
	Post  string
}

// historyEntryOf finds generation seq of r's path; false after answering.
func (s *Server) historyEntryOf(w http.ResponseWriter, r *http.Request) (historyEntry, bool) {
	seq, err := strconv.Atoi(r.PathValue("seq"))
	_, gen, _ := s.box.Config()
	h, herr := s.historyOf(gen)
	if herr != nil {
		s.fail(w, r, http.StatusServiceUnavailable, herr.Error())
		return historyEntry{}, false
	}
	for _, e := range h {
		if err == nil && e.Generation == seq {
			if e.Problem != "" {
				s.fail(w, r, http.StatusConflict, "generation "+itoa(seq)+" cannot be restored: "+e.Problem)
				return historyEntry{}, false
			}
			return e, true
		}
	}
	s.fail(w, r, http.StatusNotFound, "no generation "+r.PathValue("seq")+" is kept; the Settings page lists those that are")
	return historyEntry{}, false
}

// historyConfirm is the one confirmation before a restore.
func (s *Server) historyConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, p, ok := s.historyPage(w, r, sess); ok {
		s.render(w, r, "historyrestore", p)
	}
}

// historyPage is the restore page of the generation the path names; ok is
// false (answer sent) when none is kept.
func (s *Server) historyPage(w http.ResponseWriter, r *http.Request, sess *session) (historyEntry, *page, bool) {
	e, ok := s.historyEntryOf(w, r)
	if !ok {
		return e, nil, false
	}
	p := s.base(sess, "Restore generation "+itoa(e.Generation), "settings")
	p.Data = historyRestoreData{Entry: e, Post: "/settings/history/" + itoa(e.Generation) + "/restore"}
	return e, p, true
}

// historyRestore restores a generation, on trial unless the operator
// unticked it (API: trial_minutes, default on trial).
func (s *Server) historyRestore(w http.ResponseWriter, r *http.Request, sess *session) {
	e, p, ok := s.historyPage(w, r, sess)
	if !ok {
		return
	}
	base, err := baseGeneration(r)
	if err != nil {
		s.fail(w, r, http.StatusPreconditionRequired, err.Error())
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		p.addErr("confirm", "tick the box to confirm: restoring replaces every setting with those of generation "+itoa(e.Generation))
		s.render(w, r, "historyrestore", p)
		return
	}
	trial, ok := s.trialField(w, r, p, "historyrestore")
	if !ok {
		return
	}
	gen, err := s.box.Restore(r.Context(), e.Generation, base, source(r), trial)
	if s.changeFailed(w, r, err, "restore generation "+itoa(e.Generation)) {
		return
	}
	s.logf("webui: generation %d restored as %d from %s (trial %s)", e.Generation, gen, sourceKey(r), trial)
	done(w, r, "/apply", map[string]any{"generation": gen})
}

// restorable is for the template: a generation that reads back whole and
// is not the current one.
func (e historyEntry) Restorable() bool { return e.Problem == "" && !e.Current }
