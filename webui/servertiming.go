package webui

import (
	"net/http"
	"strconv"
	"time"
)

// serverTiming adds a Server-Timing header ("app;dur=MS") to every answer:
// the milliseconds from the request reaching the web UI to its header
// being written. Pages and /metrics are rendered into a buffer before
// their header, so for them it is the whole of the server's work; a
// benchmark reads it from outside the box without guessing at the
// network's share (make bench, issue 18).
func serverTiming(h http.Handler, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&timingWriter{ResponseWriter: w, start: now(), now: now}, r)
	})
}

// timingWriter sets the header when the status is written, explicitly or
// by the first Write.
type timingWriter struct {
	http.ResponseWriter
	start, wroteAt time.Time
	now            func() time.Time
}

func (t *timingWriter) WriteHeader(code int) {
	if t.wroteAt.IsZero() {
		t.wroteAt = t.now()
		ms := float64(t.wroteAt.Sub(t.start).Microseconds()) / 1000
		t.Header().Set("Server-Timing", "app;dur="+strconv.FormatFloat(ms, 'f', 3, 64))
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *timingWriter) Write(b []byte) (int, error) {
	if t.wroteAt.IsZero() {
		t.WriteHeader(http.StatusOK)
	}
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's Flush and
// deadlines (the diagnostics stream).
func (t *timingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
