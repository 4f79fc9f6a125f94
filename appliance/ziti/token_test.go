package ziti

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var tokenNow = time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)

// makeJWT builds an unsigned-but-shaped token; ParseToken does not check
// signatures, so any third part will do.
func makeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("signature"))
}

func goodClaims() map[string]any {
	return map[string]any{
		"em":    "erott",
		"iss":   "https://ctrl.example.net:1280",
		"sub":   "kZ3eU4fRa",
		"jti":   "7d0f3c9e-5b1a-4f8e-9c1b-1b2d3e4f5a6b",
		"exp":   tokenNow.Add(3 * time.Hour).Unix(),
		"ctrls": []string{"tls:ctrl.example.net:1280"},
	}
}

func with(k string, v any) map[string]any {
	c := goodClaims()
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func TestParseTokenGood(t *testing.T) {
	raw := "\n  " + makeJWT(t, goodClaims()) + "\r\n"
	tok, err := ParseToken([]byte(raw), tokenNow)
	if err != nil {
		t.Fatal(err)
	}
	want := &Token{
		Kind:        "erott",
		Issuer:      "https://ctrl.example.net:1280",
		Controllers: []string{"tls:ctrl.example.net:1280"},
		Subject:     "kZ3eU4fRa",
		ID:          "7d0f3c9e-5b1a-4f8e-9c1b-1b2d3e4f5a6b",
		Expires:     tokenNow.Add(3 * time.Hour),
	}
	if d := cmp.Diff(want, tok); d != "" {
		t.Errorf("token (-want +got):\n%s", d)
	}

	// A controller without the tls: prefix is taken as tls.
	tok, err = ParseToken([]byte(makeJWT(t, with("ctrls", []string{"10.0.0.1:6262", "tls:[2001:db8::1]:6262"}))), tokenNow)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"tls:10.0.0.1:6262", "tls:[2001:db8::1]:6262"}, tok.Controllers); d != "" {
		t.Errorf("controllers (-want +got):\n%s", d)
	}
}

func TestParseTokenBad(t *testing.T) {
	good := makeJWT(t, goodClaims())
	parts := strings.Split(good, ".")
	for _, tc := range []struct {
		name string
		jwt  string
		is   error
		msg  string // a piece of what the operator reads
	}{
		{"empty", "  \n", ErrMalformed, "token is empty"},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed, "three parts separated by dots, this has 2"},
		{"truncated", good[:len(good)/2], ErrMalformed, "copied whole"},
		{"not base64", "a$b.c$d.e", ErrMalformed, "header is not valid"},
		{"claims not JSON", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("hello")) + "." + parts[2], ErrMalformed, "claims are not valid"},
		{"no signature", parts[0] + "." + parts[1] + ".", ErrMalformed, "no signature"},
		{"huge", strings.Repeat("a", 70000), ErrMalformed, "far too long"},
		{"identity token", makeJWT(t, with("em", "ott")), ErrWrongKind, `enrolls an identity ("ott"), not a router ("erott")`},
		{"no kind", makeJWT(t, with("em", nil)), ErrWrongKind, `no "em" claim`},
		{"other kind", makeJWT(t, with("em", "weird")), ErrWrongKind, `kind "weird"`},
		{"http issuer", makeJWT(t, with("iss", "http://ctrl.example.net:1280")), ErrBadIssuer, "is not https"},
		{"no issuer", makeJWT(t, with("iss", nil)), ErrBadIssuer, "does not say which controller"},
		{"issuer not URL", makeJWT(t, with("iss", "ctrl.example.net")), ErrBadIssuer, "not a URL"},
		{"no ctrls", makeJWT(t, with("ctrls", nil)), ErrNoControllers, `no "ctrls" claim`},
		{"empty ctrls", makeJWT(t, with("ctrls", []string{})), ErrNoControllers, "list is empty"},
		{"ctrls not list", makeJWT(t, with("ctrls", "tls:a:1")), ErrMalformed, "not a list"},
		{"ctrl without port", makeJWT(t, with("ctrls", []string{"tls:ctrl"})), ErrMalformed, "want tls:host:port"},
		{"ctrl with quote", makeJWT(t, with("ctrls", []string{"tls:a\":1"})), ErrMalformed, "not an address"},
		{"expired", makeJWT(t, with("exp", tokenNow.Add(-2*time.Hour).Unix())), ErrExpired, "expired 2 hours ago (at 2026-11-23 02:00 UTC)"},
		{"expires now", makeJWT(t, with("exp", tokenNow.Unix())), ErrExpired, "expired just now"},
		{"a minute ago", makeJWT(t, with("exp", tokenNow.Add(-90*time.Second).Unix())), ErrExpired, "expired 1 minute ago"},
		{"days ago", makeJWT(t, with("exp", tokenNow.Add(-72*time.Hour).Unix())), ErrExpired, "expired 3 days ago"},
		{"exp not number", makeJWT(t, with("exp", "tomorrow")), ErrMalformed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseToken([]byte(tc.jwt), tokenNow)
			if err == nil {
				t.Fatalf("accepted: %+v", tok)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestParseTokenNoExpiry(t *testing.T) {
	tok, err := ParseToken([]byte(makeJWT(t, with("exp", nil))), tokenNow)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Expires.IsZero() {
		t.Errorf("Expires = %v, want zero", tok.Expires)
	}
}
