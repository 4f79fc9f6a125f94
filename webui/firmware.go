package webui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/update"
)

// Firmware is the firmware update surface (appliance/update.Firmware),
// given in Options; without it the Firmware page says updates are not
// available.
type Firmware interface {
	Install(ctx context.Context, r io.Reader, opt update.Options) (update.Result, error)
	Status() update.Status
	BootInto(version string, window time.Duration) error
}

// maxBundleBytes bounds an upload: the parts together are at most
// update.MaxPartBytes, plus the manifest and tar's headers.
const maxBundleBytes = update.MaxPartBytes + 1<<20

// firmwareState keeps the last install's result, so the page shows what
// was verified after the upload's script reloads it.
type firmwareState struct {
	mu   sync.Mutex
	last *update.Result
}

// firmwareView is the Firmware page's data (and GET /api/firmware).
type firmwareView struct {
	Available bool           `json:"available"`
	Status    update.Status  `json:"status"`
	Installed *update.Result `json:"installed,omitempty"` // the last upload, while the other slot still holds it
}

func (s *Server) firmwarePage(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Firmware", "firmware")
	v := firmwareView{}
	if fw := s.opt.Firmware; fw != nil {
		v.Available = true
		v.Status = fw.Status()
		s.fw.mu.Lock()
		if l := s.fw.last; l != nil && !v.Status.Other.Empty && v.Status.Other.Version == l.Version && v.Status.Other.Slot == l.Slot {
			v.Installed = l
		}
		s.fw.mu.Unlock()
	}
	p.Data = v
	s.render(w, r, "firmware", p)
}

// firmwareUpload takes a bundle as the streamed body of PUT /api/firmware
// (?downgrade=yes to allow an older build) and answers what was verified
// and the SHA-256 of what arrived, as JSON, like gokrazy's update API.
func (s *Server) firmwareUpload(w http.ResponseWriter, r *http.Request, sess *session) {
	fw := s.opt.Firmware
	if fw == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"errors": []apiError{{"bundle", "firmware updates are not available on this box"}}})
		return
	}
	opt := update.Options{}
	switch r.URL.Query().Get("downgrade") {
	case "1", "yes", "true":
		opt.AllowDowngrade = true
	}
	body := http.MaxBytesReader(w, r.Body, maxBundleBytes)
	res, err := fw.Install(r.Context(), body, opt)
	if err != nil {
		status := http.StatusInternalServerError
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, update.ErrSignature), errors.Is(err, update.ErrBoard), errors.Is(err, update.ErrTruncated),
			errors.Is(err, update.ErrCorrupt), errors.Is(err, update.ErrOlder), errors.Is(err, update.ErrMalformed):
			status = http.StatusUnprocessableEntity
		}
		s.logf("webui: firmware upload from %s refused: %v", sourceKey(r), err)
		writeJSON(w, status, map[string]any{"errors": []apiError{{"bundle", err.Error()}}})
		return
	}
	s.fw.mu.Lock()
	s.fw.last = &res
	s.fw.mu.Unlock()
	s.logf("webui: firmware %s (%s) written to slot %s from %s, sha256 %s", res.Version, res.Board, res.Slot, sourceKey(r), res.SHA256)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "sha256": res.SHA256, "bytes": res.Bytes, "version": res.Version,
		"board": res.Board, "built": res.Built, "slot": res.Slot, "parts": res.Parts, "verified": res.Verified})
}

// bootConfirm asks before the trial reboot into the other slot.
func (s *Server) firmwareBootConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, "confirm", s.bootConfirmPage(sess, r.FormValue("version")))
}

func (s *Server) bootConfirmPage(sess *session, version string) *page {
	p := s.base(sess, "Reboot into "+version, "firmware")
	p.Data = confirmData{
		Warning: "The box reboots now into " + version + " from the other slot, once, as a trial: tunnels and the router go down for the reboot. " +
			"It keeps " + version + " only if supervision, the web UI and every tunnel and the router that are up now come up again within the trial window; otherwise it comes back to this firmware by itself.",
		Button:        "Reboot into " + version,
		Post:          "/firmware/boot?version=" + url.QueryEscape(version),
		WindowMinutes: int(update.DefaultWindow / time.Minute),
	}
	return p
}

// trialWindow reads the form's or the API's window: minutes ("15"), or a
// duration ("90s", "15m"); empty is the box's default.
func trialWindow(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, fmt.Errorf("%q is neither minutes nor a duration such as 15m", v)
		}
		d = time.Duration(n) * time.Minute
	}
	return d, update.CheckWindow(d)
}

func (s *Server) firmwareBoot(w http.ResponseWriter, r *http.Request, sess *session) {
	fw := s.opt.Firmware
	if fw == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "firmware updates are not available on this box")
		return
	}
	version := r.FormValue("version")
	window, werr := trialWindow(r.FormValue("window"))
	if r.PostFormValue("confirm") != "yes" || werr != nil {
		p := s.bootConfirmPage(sess, version)
		if werr != nil {
			p.addErr("window", werr.Error())
		} else {
			p.addErr("confirm", "tick the box to confirm")
		}
		s.render(w, r, "confirm", p)
		return
	}
	if err := fw.BootInto(version, window); err != nil {
		s.fail(w, r, http.StatusConflict, "reboot into "+version+": "+err.Error())
		return
	}
	s.logf("webui: trial reboot into firmware %s requested from %s", version, sourceKey(r))
	if wantJSON(r) {
		done(w, r, "", map[string]any{"rebooting_into": version})
		return
	}
	p := s.base(sess, "Reboot into "+version, "firmware")
	p.Flash = "Rebooting into " + version + " as a trial. Log in again in a minute or two; the Firmware page then says whether it was kept."
	s.render(w, r, "message", p)
}
