package ziti

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// RouterEnrollmentKind is the `em` claim of an edge router's one-time token.
const RouterEnrollmentKind = "erott"

// Errors ParseToken wraps, so callers can tell the cases apart with
// errors.Is; the wrapping message is the one to show the operator.
var (
	ErrMalformed     = errors.New("malformed enrollment token")
	ErrWrongKind     = errors.New("wrong kind of enrollment token")
	ErrBadIssuer     = errors.New("enrollment token has no https issuer")
	ErrNoControllers = errors.New("enrollment token names no controller")
	ErrExpired       = errors.New("enrollment token expired")
)

// maxTokenSize bounds what is decoded; real tokens are 1-2 KB.
const maxTokenSize = 64 << 10

// Token is what the box reads from a router enrollment JWT before using
// it. The signature is not verified here: the router's enrollment checks
// it against the controller, and the box only wants to say early, in plain
// words, what is wrong with a token.
type Token struct {
	Kind        string    // em: "erott" for an edge router
	Issuer      string    // iss: the controller's https URL
	Controllers []string  // ctrls: control plane endpoints, "tls:host:port"
	Subject     string    // sub: the edge router's id on the controller
	ID          string    // jti: the one-time token itself
	Expires     time.Time // exp; zero if the token has none
}

type claims struct {
	EM    string          `json:"em"`
	Iss   string          `json:"iss"`
	Sub   string          `json:"sub"`
	Jti   string          `json:"jti"`
	Exp   json.Number     `json:"exp"`
	Ctrls json.RawMessage `json:"ctrls"`
}

// ParseToken decodes and checks a router enrollment token as pasted or
// uploaded (surrounding white space is ignored): three base64url parts,
// kind erott, an https issuer, at least one controller, not expired at now.
func ParseToken(jwt []byte, now time.Time) (*Token, error) {
	raw := string(bytes.TrimSpace(jwt))
	if raw == "" {
		return nil, fmt.Errorf("%w: the token is empty; paste the whole JWT the controller gave for this router", ErrMalformed)
	}
	if len(raw) > maxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes is far too long for an enrollment token", ErrMalformed, len(raw))
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: a JWT has three parts separated by dots, this has %d; check that it was copied whole", ErrMalformed, len(parts))
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodePart(parts[0], &hdr); err != nil {
		return nil, fmt.Errorf("%w: its header is not valid (%v); check that it was copied whole", ErrMalformed, err)
	}
	var c claims
	if err := decodePart(parts[1], &c); err != nil {
		return nil, fmt.Errorf("%w: its claims are not valid (%v); check that it was copied whole", ErrMalformed, err)
	}
	if parts[2] == "" {
		return nil, fmt.Errorf("%w: it has no signature; check that it was copied whole", ErrMalformed)
	}
	t := &Token{Kind: c.EM, Issuer: c.Iss, Subject: c.Sub, ID: c.Jti}

	switch c.EM {
	case RouterEnrollmentKind:
	case "":
		return nil, fmt.Errorf("%w: it says nothing about what it enrolls (no \"em\" claim); use the token of an edge router", ErrWrongKind)
	case "ott", "ottca", "ca", "updb":
		return nil, fmt.Errorf("%w: this token enrolls an identity (%q), not a router (%q); create an edge router on the controller and use its token", ErrWrongKind, c.EM, RouterEnrollmentKind)
	default:
		return nil, fmt.Errorf("%w: it is of kind %q, not an edge router's (%q)", ErrWrongKind, c.EM, RouterEnrollmentKind)
	}

	u, err := url.Parse(c.Iss)
	switch {
	case c.Iss == "":
		return nil, fmt.Errorf("%w: it does not say which controller issued it", ErrBadIssuer)
	case err != nil || u.Host == "":
		return nil, fmt.Errorf("%w: its issuer %q is not a URL", ErrBadIssuer, c.Iss)
	case u.Scheme != "https":
		return nil, fmt.Errorf("%w: its issuer %q is not https; the box enrolls only over TLS", ErrBadIssuer, c.Iss)
	}

	if len(c.Ctrls) == 0 || string(c.Ctrls) == "null" {
		return nil, fmt.Errorf("%w: it has no \"ctrls\" claim; it may come from a controller older than v1.0", ErrNoControllers)
	}
	if err := json.Unmarshal(c.Ctrls, &t.Controllers); err != nil {
		return nil, fmt.Errorf("%w: its \"ctrls\" claim is not a list of addresses", ErrMalformed)
	}
	for i, ctrl := range t.Controllers {
		norm, err := controllerEndpoint(ctrl)
		if err != nil {
			return nil, fmt.Errorf("%w: controller %q: %v", ErrMalformed, ctrl, err)
		}
		t.Controllers[i] = norm
	}
	if len(t.Controllers) == 0 {
		return nil, fmt.Errorf("%w: its \"ctrls\" list is empty", ErrNoControllers)
	}

	if c.Exp != "" {
		secs, err := c.Exp.Float64()
		if err != nil {
			return nil, fmt.Errorf("%w: its expiry %q is not a time", ErrMalformed, c.Exp)
		}
		t.Expires = time.Unix(int64(secs), 0).UTC()
		if !now.Before(t.Expires) {
			return nil, fmt.Errorf("%w: it expired %s (at %s UTC); re-create the router's token on the controller (ziti edge re-enroll edge-router NAME) and paste the new one",
				ErrExpired, ago(now.Sub(t.Expires)), t.Expires.Format("2006-01-02 15:04"))
		}
	}
	return t, nil
}

func decodePart(s string, v any) error {
	// Tokens are base64url without padding; accept padding anyway.
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return fmt.Errorf("not base64url")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("not a JSON object")
	}
	return nil
}

// controllerEndpoint normalises one ctrls entry to the router's form,
// tls:host:port.
func controllerEndpoint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty address")
	}
	if strings.ContainsAny(s, " \t\n\"'") {
		return "", fmt.Errorf("not an address")
	}
	if !strings.HasPrefix(s, "tls:") {
		if strings.Contains(s, "://") {
			return "", fmt.Errorf("want tls:host:port")
		}
		s = "tls:" + s
	}
	hostport := strings.TrimPrefix(s, "tls:")
	i := strings.LastIndexByte(hostport, ':')
	if i <= 0 || i == len(hostport)-1 {
		return "", fmt.Errorf("want tls:host:port")
	}
	return s, nil
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	default:
		return plural(int(d.Hours()/24), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
