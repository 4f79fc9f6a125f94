package ziti

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"gopkg.in/yaml.v3"
)

// fakeEnroll plays `ziti-router enroll CONFIG --jwt FILE`: it writes the
// identity files the config names, or fails with out.
type fakeEnroll struct {
	calls  int
	fail   string // output of a failed run; "" succeeds
	cert   string // what it writes into cert.pem
	sawJWT string
}

func (f *fakeEnroll) run(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	f.calls++
	args := cmd.Args[1:]
	if len(args) != 4 || args[0] != "enroll" || args[2] != "--jwt" {
		return nil, fmt.Errorf("unexpected command %q", cmd.Args)
	}
	jwt, err := os.ReadFile(args[3])
	if err != nil {
		return nil, err
	}
	f.sawJWT = string(jwt)
	if f.fail != "" {
		// The real enroller writes the key before asking the controller.
		return []byte(f.fail), errors.New("exit status 1")
	}
	b, err := os.ReadFile(args[1])
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Identity map[string]string `yaml:"identity"`
		Ctrl     struct {
			EndpointsFile string `yaml:"endpointsFile"`
		} `yaml:"ctrl"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, err
	}
	for k, p := range cfg.Identity {
		if err := os.WriteFile(p, []byte(f.cert+" "+k), 0o644); err != nil {
			return nil, err
		}
	}
	return []byte("registration complete"), os.WriteFile(cfg.Ctrl.EndpointsFile, []byte("endpoints: []\n"), 0o600)
}

func newTestRouter(t *testing.T, f *fakeEnroll) (*Router, string) {
	dir := filepath.Join(t.TempDir(), "perm", "ziti")
	rt := New(config.Router{IdentityPath: filepath.Join(dir, "router.yml")}, f.run)
	rt.Now = func() time.Time { return tokenNow }
	return rt, dir
}

// entries lists what is in dir, to see nothing was left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestEnroll(t *testing.T) {
	f := &fakeEnroll{cert: "first"}
	rt, dir := newTestRouter(t, f)
	ctx := context.Background()
	if _, err := rt.Enrolled(); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("Enrolled before enrolling = %v, want ErrNotEnrolled", err)
	}

	jwt := makeJWT(t, goodClaims())
	upload := filepath.Join(t.TempDir(), "upload.jwt")
	os.WriteFile(upload, []byte(jwt+"\n"), 0o600)
	var steps []string
	rt.Progress = func(s string) { steps = append(steps, s) }
	e, err := rt.EnrollFile(ctx, upload)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || !strings.Contains(steps[0], "kZ3eU4fRa") || !strings.HasPrefix(steps[2], "enrolled") {
		t.Errorf("progress = %q", steps)
	}
	if _, err := os.Stat(upload); !os.IsNotExist(err) {
		t.Errorf("uploaded token still there after enrolling: %v", err)
	}
	if f.sawJWT != jwt {
		t.Errorf("router was given %q, want the trimmed token", f.sawJWT)
	}
	if e.RouterID != "kZ3eU4fRa" || e.Controllers[0] != "tls:ctrl.example.net:1280" || !e.EnrolledAt.Equal(tokenNow) {
		t.Errorf("enrollment = %+v", e)
	}
	p := rt.Paths()
	for _, file := range []string{p.Cert(), p.ServerCert(), p.Key(), p.CA(), p.Enrollment()} {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", file, st.Mode().Perm())
		}
	}
	if got := entries(t, dir); strings.Join(got, " ") != "identity" {
		t.Errorf("%s holds %v, want only identity/", dir, got)
	}
	if got := entries(t, p.Dir); strings.Contains(strings.Join(got, " "), "jwt") || strings.Contains(strings.Join(got, " "), "router.yml") {
		t.Errorf("identity dir keeps %v: token or enrollment config left behind", got)
	}
	if e2, err := rt.Enrolled(); err != nil || e2.RouterID != e.RouterID {
		t.Errorf("Enrolled = %+v, %v", e2, err)
	}

	// The config Prepare writes names the final paths and the token's
	// controller.
	if err := rt.WriteConfig(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p.Config)
	if !strings.Contains(string(b), `"`+p.Key()+`"`) || !strings.Contains(string(b), "tls:ctrl.example.net:1280") {
		t.Errorf("rendered config:\n%s", b)
	}
	if st, _ := os.Stat(p.Config); st.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v", st.Mode().Perm())
	}

	// Re-enrolling replaces the identity whole.
	f.cert = "second"
	if _, err := rt.Enroll(ctx, []byte(jwt)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p.Cert()); !strings.HasPrefix(string(b), "second") {
		t.Errorf("cert after re-enrolling = %q", b)
	}
	if got := entries(t, dir); strings.Join(got, " ") != "identity router.yml" {
		t.Errorf("%s holds %v after re-enrolling", dir, got)
	}

	if err := rt.Unenroll(); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("%s holds %v after un-enrolling", dir, got)
	}
	if _, err := rt.Enrolled(); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("Enrolled after un-enrolling = %v", err)
	}
	if err := rt.Unenroll(); err != nil {
		t.Errorf("second Unenroll = %v", err)
	}
	if err := rt.WriteConfig(); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("WriteConfig when not enrolled = %v", err)
	}
}

// A token the controller refuses, or a bad one, leaves the box as it was:
// the old identity in place, no token, no half-made directory.
func TestEnrollFailureKeepsBox(t *testing.T) {
	f := &fakeEnroll{cert: "old"}
	rt, dir := newTestRouter(t, f)
	ctx := context.Background()
	jwt := makeJWT(t, goodClaims())
	if _, err := rt.Enroll(ctx, []byte(jwt)); err != nil {
		t.Fatal(err)
	}
	p := rt.Paths()
	before := snapshot(t, p.Dir)

	for _, tc := range []struct {
		name  string
		jwt   string
		out   string
		is    error
		msg   string
		calls int
	}{
		{"reused", jwt, `[   0.412]   FATAL ziti/router/enroll.(*RestEnroller).Enroll: enrollment failed received HTTP status [404 Not Found]: {"error":{"code":"INVALID_ENROLLMENT_TOKEN","message":"The supplied token is not valid"}}`,
			ErrRefused, "was used already", 1},
		{"other api error", jwt, `enrollment failed received HTTP status [500]: {"error":{"code":"UNHANDLED","message":"x"}}`, ErrRefused, "refused it (UNHANDLED)", 1},
		{"unreachable", jwt, `Post "https://ctrl.example.net:1280/edge/client/v1/enroll": dial tcp 127.0.0.1:1280: connect: connection refused`, ErrRefused, "could not reach the controller", 1},
		{"expired", makeJWT(t, with("exp", tokenNow.Add(-time.Minute).Unix())), "", ErrExpired, "expired", 0},
		{"wrong kind", makeJWT(t, with("em", "ott")), "", ErrWrongKind, "not a router", 0},
		{"garbage", "hello", "", ErrMalformed, "three parts", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.calls, f.fail, f.cert = 0, tc.out, "new"
			upload := filepath.Join(t.TempDir(), "upload.jwt")
			os.WriteFile(upload, []byte(tc.jwt), 0o600)
			_, err := rt.EnrollFile(ctx, upload)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("EnrollFile = %v, want %v saying %q", err, tc.is, tc.msg)
			}
			if f.calls != tc.calls {
				t.Errorf("router ran %d times, want %d", f.calls, tc.calls)
			}
			if _, err := os.Stat(upload); !os.IsNotExist(err) {
				t.Errorf("token file kept after a failed enrollment")
			}
			if d := snapshot(t, p.Dir); d != before {
				t.Errorf("identity changed by a failed enrollment:\n%s\nwas\n%s", d, before)
			}
			if got := entries(t, dir); strings.Join(got, " ") != "identity" {
				t.Errorf("%s holds %v after a failed enrollment", dir, got)
			}
		})
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	for _, n := range entries(t, dir) {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		fmt.Fprintf(&sb, "%s: %q\n", n, b)
	}
	return sb.String()
}

// TestTidy: what a power cut mid-enrollment leaves is put right.
func TestTidy(t *testing.T) {
	ctx := context.Background()
	jwt := []byte(makeJWT(t, goodClaims()))
	for _, tc := range []struct {
		name  string
		setup func(p Paths, parent string)
		cert  string // what cert.pem must hold after Tidy; "" for none
	}{
		{"finished enrollment not yet moved", func(p Paths, parent string) {
			os.Rename(p.Dir, p.Dir+".old")
			os.Rename(filepath.Join(parent, "new"), filepath.Join(parent, ".enroll-123"))
		}, "new"},
		{"unfinished enrollment", func(p Paths, parent string) {
			os.Rename(p.Dir, p.Dir+".old")
			os.Remove(filepath.Join(parent, "new", "enrollment.json"))
			os.Rename(filepath.Join(parent, "new"), filepath.Join(parent, ".enroll-123"))
		}, "old"},
		{"old left beside the new", func(p Paths, parent string) {
			os.Rename(filepath.Join(parent, "new"), p.Dir+".old")
		}, "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEnroll{cert: "new"}
			rt, dir := newTestRouter(t, f)
			p := rt.Paths()
			// Make a "new" identity and set it aside, then the old one.
			if _, err := rt.Enroll(ctx, jwt); err != nil {
				t.Fatal(err)
			}
			os.Rename(p.Dir, filepath.Join(dir, "new"))
			f.cert = "old"
			if _, err := rt.Enroll(ctx, jwt); err != nil {
				t.Fatal(err)
			}
			tc.setup(p, dir)
			if err := rt.Tidy(); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p.Cert())
			if !strings.HasPrefix(string(b), tc.cert) {
				t.Errorf("cert = %q, want %s", b, tc.cert)
			}
			if got := entries(t, dir); strings.Join(got, " ") != "identity" {
				t.Errorf("%s holds %v after Tidy", dir, got)
			}
		})
	}
}
