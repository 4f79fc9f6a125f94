package webui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/backup"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// The backup that restores (issue 14): an encrypted file holding the
// config with its secrets, the router's identity and the web UI's
// certificate, sealed with a passphrase the operator types (POST only: a
// passphrase never goes in a URL). It restores on the Settings page (on
// trial) and in the setup wizard ("restore from a backup"). The readable
// download without secrets stays beside it.

// maxUploadBytes bounds a restore's upload: a backup may hold a router's
// cached data model (backup.MaxPayload), plus the form around it.
const maxUploadBytes = backup.MaxPayload + 64<<10

// uploadPath reports whether path takes a backup upload.
func uploadPath(path string) bool {
	return path == "/settings/restore" || path == "/setup/restore"
}

// encryptedBackup answers POST /settings/backup: the passphrase typed
// twice, the file as a download.
func (s *Server) encryptedBackup(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	p := s.settingsPage(sess, c)
	pass, again := r.PostFormValue("backup_passphrase"), r.PostFormValue("backup_passphrase2")
	switch {
	case pass == "":
		p.addErr("backup_passphrase", "type a passphrase: the backup holds every key and is sealed with it")
	case pass != again:
		p.addErr("backup_passphrase2", "is not the same passphrase; type it again")
	}
	if p.hasErrors() {
		s.render(w, r, "settings", p)
		return
	}
	var buf bytes.Buffer // the passphrase may be refused before any byte goes out
	if err := s.box.Backup(&buf, pass); err != nil {
		if errors.Is(err, backup.ErrWeakPassphrase) {
			p.addErr("backup_passphrase", backup.ErrWeakPassphrase.Error())
			s.render(w, r, "settings", p)
			return
		}
		s.logf("webui: encrypted backup: %v", err)
		s.fail(w, r, http.StatusInternalServerError, "the box could not make the backup: "+err.Error())
		return
	}
	host := c.System.Hostname
	if host == "" {
		host = config.DefaultHostname
	}
	s.logf("webui: encrypted backup downloaded from %s", sourceKey(r))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", host+"-backup-"+s.now().UTC().Format("20060102-1504")+".tunneler-backup"))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// openedUpload is what a restore form's file turned out to be: an
// encrypted backup (plan) or the readable JSON document (doc).
type openedUpload struct {
	plan *control.RestorePlan
	doc  *config.Config
}

// openUpload reads the restore form's file: an encrypted backup with the
// passphrase, else the JSON settings download. A backup opened earlier
// whose NIC mapping the operator now confirms comes from the session.
// Problems go next to "file" or "passphrase"; false means none was read.
func (s *Server) openUpload(r *http.Request, sess *session, p *page) (openedUpload, bool) {
	file, _, err := r.FormFile("file")
	if err != nil {
		if sess.restorePlan != nil && r.PostFormValue("mapping_confirm") == "yes" {
			return openedUpload{plan: sess.restorePlan}, true
		}
		p.addErr("file", "choose a backup file (.tunneler-backup, or a settings .json) to restore")
		return openedUpload{}, false
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, maxUploadBytes))
	if err != nil {
		p.addErr("file", "the file could not be read: "+err.Error())
		return openedUpload{}, false
	}
	plan, err := s.box.OpenBackup(bytes.NewReader(b), r.PostFormValue("passphrase"))
	var fieldErrs config.FieldErrors
	switch {
	case errors.Is(err, backup.ErrNotBackup):
		c, err := decodeRestore(bytes.NewReader(b))
		if err != nil {
			p.addErr("file", "this is neither an encrypted backup nor a settings download: "+err.Error())
			return openedUpload{}, false
		}
		return openedUpload{doc: &c}, true
	case errors.Is(err, backup.ErrWrongPassphrase):
		if r.PostFormValue("passphrase") == "" {
			p.addErr("passphrase", "type the passphrase the backup was made with")
		} else {
			p.addErr("passphrase", backup.ErrWrongPassphrase.Error()+": check it and try again")
		}
		return openedUpload{}, false
	case errors.As(err, &fieldErrs):
		for _, fe := range fieldErrs {
			p.addErr("file", "the backup's "+fe.Field+": "+fe.Message)
		}
		return openedUpload{}, false
	case err != nil:
		p.addErr("file", strings.TrimPrefix(err.Error(), "read backup: "))
		return openedUpload{}, false
	}
	return openedUpload{plan: plan}, true
}

// mappingConfirmed asks the operator to confirm the NIC mapping of a
// backup made on other hardware; the opened backup waits in the session
// (the passphrase is not kept). It reports whether to go on.
func (s *Server) mappingConfirmed(r *http.Request, sess *session, p *page, plan *control.RestorePlan) bool {
	if len(plan.Notes) == 0 || r.PostFormValue("mapping_confirm") == "yes" {
		return true
	}
	sess.restorePlan = plan
	p.Data = withNotes(p.Data, plan.Notes)
	p.addErr("mapping_confirm", "the backup was made on a box with other network cards: check how its roles map onto this box's, tick the box and restore again (the file need not be chosen again)")
	return false
}

// restore answers POST /settings/restore: an encrypted backup (on trial
// by default; the router's identity goes back too if it is not
// confirmed), or the readable settings download (this box's keys kept).
func (s *Server) restore(w http.ResponseWriter, r *http.Request, sess *session) {
	cur, _, _ := s.box.Config()
	p := s.settingsPage(sess, cur)
	if r.PostFormValue("confirm") != "yes" {
		p.addErr("restore_confirm", "tick the box to confirm: restoring replaces every setting and restarts the tunnels")
		s.render(w, r, "settings", p)
		return
	}
	up, ok := s.openUpload(r, sess, p)
	if !ok {
		s.render(w, r, "settings", p)
		return
	}
	if up.doc != nil {
		sess.restorePlan = nil
		// Paths, not form fields: the file is the form here.
		if !s.saveChange(w, r, p, *up.doc, "settings", func(errs config.FieldErrors) {
			for _, fe := range errs {
				p.addErr("file", fe.Field+": "+fe.Message)
			}
		}) {
			return
		}
		done(w, r, "/apply", nil)
		return
	}
	if !s.mappingConfirmed(r, sess, p, up.plan) {
		s.render(w, r, "settings", p)
		return
	}
	base, err := baseGeneration(r)
	if err != nil {
		s.fail(w, r, http.StatusPreconditionRequired, err.Error())
		return
	}
	trial, ok := s.trialField(w, r, p, "settings")
	if !ok {
		return
	}
	if !s.restoreBackup(w, r, sess, p, up.plan, base, trial, "settings") {
		return
	}
	done(w, r, "/apply", nil)
}

// restoreBackup restores plan; on a problem it answers (field errors
// under "file") and reports false.
func (s *Server) restoreBackup(w http.ResponseWriter, r *http.Request, sess *session, p *page, plan *control.RestorePlan, base int, trial time.Duration, tmpl string) bool {
	gen, errs, err := s.box.RestoreBackup(r.Context(), plan, base, source(r), trial)
	var stale *control.StaleError
	if errors.As(err, &stale) {
		sess.restorePlan = nil
	}
	switch {
	case s.changeFailed(w, r, err, "restore the backup"):
		return false
	case len(errs) > 0:
		for _, fe := range errs {
			p.addErr("file", "the backup's "+fe.Field+": "+fe.Message)
		}
		s.render(w, r, tmpl, p)
		return false
	}
	sess.restorePlan = nil
	s.logf("webui: encrypted backup restored as generation %d from %s", gen, sourceKey(r))
	return true
}

// setupRestoreData is the wizard's restore page.
type setupRestoreData struct {
	// Notes say how a backup from other hardware maps onto this box's
	// NICs, for the operator to confirm.
	Notes []string `json:"notes,omitempty"`
}

// withNotes puts the mapping notes on a page's data.
func withNotes(d any, notes []string) any {
	switch v := d.(type) {
	case settingsData:
		v.Notes = notes
		return v
	case setupRestoreData:
		v.Notes = notes
		return v
	}
	return setupRestoreData{Notes: notes}
}

func (s *Server) setupRestorePage(sess *session) *page {
	p := s.base(sess, "Set up: restore from a backup", "")
	p.Setup = true
	p.Step = "restore"
	d := setupRestoreData{}
	if sess.restorePlan != nil {
		d.Notes = sess.restorePlan.Notes
	}
	p.Data = d
	return p
}

// setupRestoreGet shows the wizard's "restore from a backup".
func (s *Server) setupRestoreGet(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, "setuprestore", s.setupRestorePage(sess))
}

// setupRestore restores a fresh box from an encrypted backup: its
// settings, keys, admin password, router identity and web certificate.
// With other network cards the operator first confirms how the roles
// map onto this box's. The setup session then becomes a login.
func (s *Server) setupRestore(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.setupRestorePage(sess)
	up, ok := s.openUpload(r, sess, p)
	if ok && up.doc != nil {
		p.addErr("file", "this is the settings download without secrets: it cannot set up a new box (no keys, no admin password); use the encrypted backup, or set the box up with the wizard")
		ok = false
	}
	if !ok {
		s.render(w, r, "setuprestore", p)
		return
	}
	if !s.mappingConfirmed(r, sess, p, up.plan) {
		s.render(w, r, "setuprestore", p)
		return
	}
	if !s.restoreBackup(w, r, sess, p, up.plan, sess.draftGen, 0, "setuprestore") {
		return
	}
	sess.setup = false
	sess.draft = config.Config{}
	sess.routerJWT = nil
	done(w, r, "/apply", nil)
}
