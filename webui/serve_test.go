package webui

import (
	"context"
	"net"
	"strings"
	"testing"
)

// A listen that fails part-way must release the addresses already bound:
// init retries the same set every two seconds, and found them in use
// forever when an IPv6 address was still tentative at the first try.
func TestServeReleasesAddressesWhenOneFails(t *testing.T) {
	h := newHarness(t)
	cert, err := LoadOrCreateCert(t.TempDir(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	good, goodHTTP := free(), free()
	// 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails with
	// EADDRNOTAVAIL, and no packet is sent.
	for _, tc := range []struct {
		name        string
		https, http []string
	}{
		{"https fails after one bound", []string{good, "192.0.2.1:443"}, nil},
		{"http fails after https bound", []string{good}, []string{goodHTTP, "192.0.2.1:80"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := h.srv.Serve(context.Background(), cert, tc.https, tc.http)
			if err == nil || !strings.Contains(err.Error(), "192.0.2.1") {
				t.Fatalf("Serve = %v, want the failing address named", err)
			}
			for _, a := range append(tc.https, tc.http...) {
				if strings.HasPrefix(a, "192.0.2.1") {
					continue
				}
				ln, err := net.Listen("tcp", a)
				if err != nil {
					t.Fatalf("%s still bound after Serve failed: %v", a, err)
				}
				ln.Close()
			}
		})
	}
}
