package webui

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// bodyLimit bounds a POST's body by what path takes.
func bodyLimit(path string) int64 {
	switch {
	case uploadPath(path):
		return maxUploadBytes // a backup with a router's identity
	case documentPath(path):
		return documentFormBytes
	}
	return maxFormBytes
}

// documentPath reports whether path takes a whole document or file of
// sites and tunnels.
func documentPath(path string) bool {
	return path == "/sites" || path == "/sites/json" || path == "/import"
}

// Handler returns the web UI's handler, for the HTTPS listeners.
func (s *Server) Handler() http.Handler {
	return serverTiming(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Nothing from outside the box, no framing, no sniffing.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		// No HSTS: with a self-signed certificate that changes on factory
		// reset, HSTS would stop the operator from accepting the new one.
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/api/"); ok {
			r2 := r.Clone(context.WithValue(r.Context(), jsonKey, true))
			r2.URL.Path = "/" + rest
			r2.URL.RawPath = ""
			r = r2
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r.URL.Path))
			var err error
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				err = r.ParseMultipartForm(maxFormBytes)
			} else {
				err = r.ParseForm()
			}
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, "the form could not be read: "+err.Error())
				return
			}
		}
		s.mux.ServeHTTP(w, r)
	}), time.Now)
}
