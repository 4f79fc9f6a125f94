package webui

import (
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
)

// TestTLSConfigModernOnly: TLS 1.2 at least, and every 1.2 suite is one Go
// counts as secure, with ECDHE and an AEAD cipher.
func TestTLSConfigModernOnly(t *testing.T) {
	c := TLSConfig(func() *tls.Certificate { return nil })
	if c.MinVersion < tls.VersionTLS12 {
		t.Errorf("MinVersion %s, want TLS 1.2 or later", tls.VersionName(c.MinVersion))
	}
	if len(c.CipherSuites) == 0 {
		t.Fatal("no cipher suites listed: Go's defaults would include CBC suites")
	}
	var secure []uint16
	for _, cs := range tls.CipherSuites() {
		secure = append(secure, cs.ID)
	}
	for _, id := range c.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !slices.Contains(secure, id) {
			t.Errorf("%s is not among Go's secure suites", name)
		}
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
			t.Errorf("%s: not ECDHE with an AEAD cipher", name)
		}
	}
}

// TestTLSHandshakes connects to a listener with the web UI's config and
// the box's own kind of certificate, as old and new clients would.
func TestTLSHandshakes(t *testing.T) {
	cert, err := LoadOrCreateCert(t.TempDir(), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", TLSConfig(func() *tls.Certificate { return &cert }))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	for _, tc := range []struct {
		name     string
		min, max uint16
		suites   []uint16
		ok       bool
	}{
		{"TLS 1.0", tls.VersionTLS10, tls.VersionTLS10, nil, false},
		{"TLS 1.1", tls.VersionTLS11, tls.VersionTLS11, nil, false},
		{"TLS 1.2 CBC with SHA-1", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}, false},
		{"TLS 1.2 CBC with SHA-256", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}, false},
		{"TLS 1.2 AES-GCM", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
		{"TLS 1.2 ChaCha20-Poly1305", tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, true},
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tls.DialWithDialer(&net.Dialer{}, "tcp", ln.Addr().String(), &tls.Config{
				InsecureSkipVerify: true, MinVersion: tc.min, MaxVersion: tc.max, CipherSuites: tc.suites,
			})
			if err == nil {
				conn.Close()
			}
			if ok := err == nil; ok != tc.ok {
				t.Errorf("handshake succeeded: %v (%v), want %v", ok, err, tc.ok)
			}
		})
	}
}
