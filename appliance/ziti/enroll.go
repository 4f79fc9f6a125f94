package ziti

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Enrollment is what the box keeps of the token it enrolled with.
type Enrollment struct {
	RouterID    string    `json:"router_id"`   // the token's sub
	Issuer      string    `json:"issuer"`      // the controller's URL
	Controllers []string  `json:"controllers"` // tls:host:port, from the token
	EnrolledAt  time.Time `json:"enrolled_at"`
}

// ErrNotEnrolled is returned (wrapped) when there is no identity.
var ErrNotEnrolled = errors.New("the router is not enrolled")

// ErrRefused wraps the router's enrollment failing at the controller.
var ErrRefused = errors.New("enrollment failed")

// Enrolled returns the current enrollment, or an error wrapping
// ErrNotEnrolled when there is none.
func (r *Router) Enrolled() (*Enrollment, error) {
	p := r.Paths()
	b, err := os.ReadFile(p.Enrollment())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (no %s)", ErrNotEnrolled, p.Enrollment())
	}
	if err != nil {
		return nil, fmt.Errorf("read enrollment: %w", err)
	}
	var e Enrollment
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("read enrollment %s: %w", p.Enrollment(), err)
	}
	for _, f := range []string{p.Cert(), p.ServerCert(), p.Key(), p.CA()} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%w: identity file missing: %v", ErrNotEnrolled, err)
		}
	}
	return &e, nil
}

// EnrollFile enrolls with the token in path (an upload), and removes the
// file whatever happens: a token is single-use and a credential until then.
func (r *Router) EnrollFile(ctx context.Context, path string) (*Enrollment, error) {
	jwt, err := os.ReadFile(path)
	os.Remove(path)
	if err != nil {
		return nil, fmt.Errorf("read enrollment token: %w", err)
	}
	return r.Enroll(ctx, jwt)
}

// Enroll checks jwt, then runs `ziti-router enroll` into a fresh
// directory beside the identity and, only if that succeeds, swaps it in
// for the old identity. On any failure the box is as it was: the old
// identity (if any) stays, and the token and the half-made directory are
// removed. The caller stops the router first when re-enrolling and starts
// it after; the old identity is useless once the controller re-issued it.
func (r *Router) Enroll(ctx context.Context, jwt []byte) (*Enrollment, error) {
	tok, err := ParseToken(jwt, r.now())
	if err != nil {
		return nil, err
	}
	r.progress("token checked: edge router %s of controller %s", tok.Subject, tok.Issuer)
	if r.Run == nil {
		return nil, fmt.Errorf("enroll: no Runner to run %s with", r.binary())
	}
	s := r.Settings()
	final := s.Paths
	parent := filepath.Dir(final.Dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	if err := r.Tidy(); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".enroll-")
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	defer os.RemoveAll(tmp) // after a successful swap it no longer exists

	tokenPath := filepath.Join(tmp, "token.jwt")
	if err := os.WriteFile(tokenPath, []byte(strings.TrimSpace(string(jwt))), 0o600); err != nil {
		return nil, fmt.Errorf("enroll: write token: %w", err)
	}
	ts := s
	ts.Paths = final.in(tmp)
	ts.Controllers = tok.Controllers
	cfg, err := Render(ts)
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	if err := os.WriteFile(ts.Paths.Config, cfg, 0o600); err != nil {
		return nil, fmt.Errorf("enroll: write config: %w", err)
	}

	r.progress("making a key and asking the controller for certificates")
	cmd := exec.Command(r.binary(), "enroll", ts.Paths.Config, "--jwt", tokenPath)
	out, err := r.Run(ctx, cmd)
	os.Remove(tokenPath)
	if err != nil {
		return nil, enrollError(err, out)
	}

	for _, f := range []string{ts.Paths.Cert(), ts.Paths.ServerCert(), ts.Paths.Key(), ts.Paths.CA()} {
		if err := os.Chmod(f, 0o600); err != nil {
			return nil, fmt.Errorf("enroll: the router reported success but left no %s: %w", filepath.Base(f), err)
		}
	}
	os.Remove(ts.Paths.Config) // rendered again, with the final paths, before each start
	e := &Enrollment{RouterID: tok.Subject, Issuer: tok.Issuer, Controllers: tok.Controllers, EnrolledAt: r.now().UTC()}
	b, _ := json.MarshalIndent(e, "", "  ")
	if err := writeFileSync(ts.Paths.Enrollment(), append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}

	// Swap: old identity aside, new one in, old one gone. A crash in
	// between leaves either the old or the new directory whole under a
	// name Enrolled and Unenroll know about.
	old := final.Dir + ".old"
	os.RemoveAll(old)
	if err := os.Rename(final.Dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("enroll: set old identity aside: %w", err)
	}
	if err := os.Rename(tmp, final.Dir); err != nil {
		os.Rename(old, final.Dir)
		return nil, fmt.Errorf("enroll: move identity into place: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	os.RemoveAll(old)
	r.progress("enrolled: identity stored in %s", final.Dir)
	return e, nil
}

// Tidy finishes or undoes what a power cut left halfway through an
// enrollment: with no identity directory, a finished enrollment
// directory (enrollment.json is written last) becomes the identity, else
// the old identity set aside comes back. Leftover enrollment directories
// (they hold a key and maybe a token) are removed. Enroll and Prepare call
// it; init may call it once at boot.
func (r *Router) Tidy() error {
	p := r.Paths()
	parent := filepath.Dir(p.Dir)
	stale, err := filepath.Glob(filepath.Join(parent, ".enroll-*"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(p.Dir); errors.Is(err, fs.ErrNotExist) {
		for _, d := range stale {
			if _, err := os.Stat(p.in(d).Enrollment()); err == nil {
				if err := os.Rename(d, p.Dir); err != nil {
					return fmt.Errorf("tidy identity: %w", err)
				}
				break
			}
		}
	}
	if _, err := os.Stat(p.Dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(p.Dir+".old", p.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tidy identity: %w", err)
		}
	}
	for _, d := range append(stale, p.Dir+".old") {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("tidy identity: %w", err)
		}
	}
	return nil
}

// Unenroll removes the identity and the rendered config. The caller
// stops the router first. Removing what is not there is no error.
func (r *Router) Unenroll() error {
	p := r.Paths()
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(p.Dir), ".enroll-*"))
	for _, d := range append([]string{p.Dir, p.Dir + ".old"}, stale...) {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("unenroll: %w", err)
		}
	}
	if err := os.Remove(p.Config); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unenroll: %w", err)
	}
	if err := syncDir(filepath.Dir(p.Dir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unenroll: %w", err)
	}
	return nil
}

// The controller's answer to a used, unknown or expired token, as the
// router prints it: "enrollment failed received HTTP status [404 Not
// Found]: {"error":{"code":"INVALID_ENROLLMENT_TOKEN",...".
var apiCode = regexp.MustCompile(`"code"\s*:\s*"([A-Z_]+)"`)

// enrollError turns the router's output into a message for the operator.
func enrollError(err error, out []byte) error {
	text := string(out)
	var code string
	if m := apiCode.FindStringSubmatch(text); m != nil {
		code = m[1]
	}
	switch {
	case code == "INVALID_ENROLLMENT_TOKEN" || code == "NOT_FOUND" || strings.Contains(text, "INVALID_ENROLLMENT_TOKEN"):
		return fmt.Errorf("%w: the controller does not know this token: it was used already, or the router was deleted or its token re-created; create a new token on the controller (ziti edge re-enroll edge-router NAME)", ErrRefused)
	case code != "":
		return fmt.Errorf("%w: the controller refused it (%s)", ErrRefused, code)
	case strings.Contains(text, "no valid root CAs") || strings.Contains(text, "x509") || strings.Contains(text, "certificate"):
		return fmt.Errorf("%w: the controller's certificate does not match the token's signer; is the token from this controller? (%s)", ErrRefused, lastLine(text))
	case strings.Contains(text, "connection refused") || strings.Contains(text, "no such host") || strings.Contains(text, "timeout") || strings.Contains(text, "i/o timeout"):
		return fmt.Errorf("%w: could not reach the controller (%s)", ErrRefused, lastLine(text))
	}
	if l := lastLine(text); l != "" {
		return fmt.Errorf("%w: %s", ErrRefused, l)
	}
	return fmt.Errorf("%w: %v", ErrRefused, err)
}

// lastLine is the router's last non-empty output line, trimmed of its
// log prefix, which is where it says why it failed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if j := strings.Index(l, "msg="); j >= 0 {
			l = strings.Trim(l[j+4:], `"`)
		}
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		return l
	}
	return ""
}

func writeFileSync(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
