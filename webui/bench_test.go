package webui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkPages measures the server time per page (handler and template,
// no TLS or network) with the fake Box, for `make bench`:
//
//	go test ./webui -run '^$' -bench Pages -benchmem
func BenchmarkPages(b *testing.B) {
	h := newHarness(b)
	h.setup()
	h.srv.Sample()
	u, _ := url.Parse(h.ts.URL)
	cookies := h.c.Jar.Cookies(u)
	handler := h.srv.Handler()
	for _, p := range []string{"/overview", "/ipsec", "/tunnels", "/logs", "/charts", "/settings", "/tunnels/site1/remote/fortigate", "/router", "/api/overview", "/metrics"} {
		b.Run(p, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", p, rec.Code)
				}
			}
			// A figure of its own: scripts/benchfigures leaves Go's ns/op out.
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms-server-time")
		})
	}
}
