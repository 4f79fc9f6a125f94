package webui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/tunneler/tunneler/appliance/config/configtest"
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

// scaledHarness is a harness logged in to a box with n tunnels, one in
// ten of them down (the fake's never-answering peer).
func scaledHarness(b testing.TB, n int) (*harness, []*http.Cookie) {
	h := newHarness(b)
	h.setup()
	c := configtest.Scale(n, 0, 0)
	for i := range c.Tunnels {
		if i%10 == 9 {
			c.Tunnels[i].PeerAddress = "192.0.2.99"
		}
	}
	h.box.mu.Lock()
	h.box.cfg.Tunnels = c.Tunnels
	h.box.saves++ // a new generation, as a save makes
	h.box.mu.Unlock()
	// The owner hides the secrets of a new generation once, for the
	// first page after a save; the figures are of the pages after it.
	h.get("/overview")
	u, _ := url.Parse(h.ts.URL)
	return h, h.c.Jar.Cookies(u)
}

// BenchmarkPagesAtScale: server time of the pages a head-end's operator
// watches, at 10, 100 and 1,000 tunnels (issue 18: each under 100 ms).
func BenchmarkPagesAtScale(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		h, cookies := scaledHarness(b, n)
		h.srv.Sample()
		handler := h.srv.Handler()
		for _, p := range []string{"/overview", "/ipsec", "/tunnels", "/metrics", "/api/overview", "/api/ipsec", "/api/tunnels", "/ipsec?q=t99"} {
			b.Run(fmt.Sprintf("tunnels=%d%s", n, p), func(b *testing.B) {
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
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms-server-time")
			})
		}
	}
}
