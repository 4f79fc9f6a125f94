package webui

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

// stepClock returns t0, then t0+step, t0+2*step, ... on each call.
func stepClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		now := t
		t = t.Add(step)
		return now
	}
}

func TestServerTimingHeader(t *testing.T) {
	tests := []struct {
		name       string
		h          http.HandlerFunc
		wantTiming string
		wantCode   int
	}{
		{"explicit status", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte("x"))
		}, "app;dur=12.500", http.StatusTeapot},
		{"body only", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("x"))
			w.Write([]byte("y")) // a second write keeps the first time
		}, "app;dur=12.500", http.StatusOK},
		{"flushed through a ResponseController", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush through the timing writer: %v", err)
			}
		}, "app;dur=12.500", http.StatusOK},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, "", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			serverTiming(tc.h, stepClock(12500*time.Microsecond)).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if got := rec.Header().Get("Server-Timing"); got != tc.wantTiming {
				t.Errorf("Server-Timing = %q, want %q", got, tc.wantTiming)
			}
			if rec.Code != tc.wantCode {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantCode)
			}
		})
	}
}

// Every answer of the web UI's handler carries the header, pages and
// /metrics alike.
func TestHandlerSetsServerTiming(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/login", "/metrics", "/api/overview"} {
		resp, err := h.c.Get(h.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Server-Timing"); !serverTimingRe.MatchString(got) {
			t.Errorf("GET %s: %s, Server-Timing = %q, want app;dur=MS", path, resp.Status, got)
		}
	}
}

var serverTimingRe = regexp.MustCompile(`^app;dur=\d+\.\d{3}$`)
