package ziti

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
)

func TestParseHealth(t *testing.T) {
	for _, tc := range []struct {
		file    string
		healthy bool
		err     string // "" for connected
	}{
		{"health-connected.json", true, ""},
		{"health-lost.json", false, "not connected to the controller since 2026-11-23T04:11:00Z: no control channel to controller"},
		{"health-starting.json", false, "no answer yet"},
		// What v1.7.2 said here with its controller stopped.
		{"health-away.json", false, "not connected to the controller since 2026-11-23T04:16:16Z: control channels are slow"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h, err := ParseHealth(f)
			if err != nil {
				t.Fatal(err)
			}
			if h.Healthy != tc.healthy {
				t.Errorf("Healthy = %v, want %v", h.Healthy, tc.healthy)
			}
			err = h.Connected()
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("Connected = %v, want nil", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("Connected = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestParseHealthBad(t *testing.T) {
	for _, in := range []string{"", "<html>", `{"meta":{}}`, `{"data": 3}`} {
		if h, err := ParseHealth(strings.NewReader(in)); err == nil {
			t.Errorf("ParseHealth(%q) = %+v, want an error", in, h)
		}
	}
	h, err := ParseHealth(strings.NewReader(`{"data":{"healthy":true,"checks":[{"id":"link.health","healthy":true}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connected(); err == nil || !strings.Contains(err.Error(), "no controllerPing check") {
		t.Errorf("Connected without a ping check = %v", err)
	}
}

// TestProbe serves the health JSON over TLS, always with HTTP 200 as the
// router does, and checks Probe reads the body and verifies the server
// against the enrolled CA bundle.
func TestProbe(t *testing.T) {
	body := "health-connected.json"
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health-checks" {
			http.NotFound(w, r)
			return
		}
		b, _ := os.ReadFile(filepath.Join("testdata", body))
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	defer srv.Close()

	dir := t.TempDir()
	rt := New(config.Router{IdentityPath: filepath.Join(dir, "router.yml")}, nil)
	s := rt.Settings()
	s.HealthListen = netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "https://"))
	rt.SetSettings(s)
	ctx := context.Background()

	if err := rt.Probe(ctx); err == nil || !strings.Contains(err.Error(), "CA bundle") {
		t.Errorf("Probe without a CA bundle = %v, want a CA error", err)
	}
	os.MkdirAll(rt.Paths().Dir, 0o700)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(rt.Paths().CA(), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rt.Probe(ctx); err != nil {
		t.Errorf("Probe while connected = %v", err)
	}
	body = "health-lost.json"
	if err := rt.Probe(ctx); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("Probe after losing the controller = %v", err)
	}
}
