package opmenu

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
)

// The router entries: a token the check refuses never reaches Enroll; a
// good one (pasted with stray quotes and spaces) does, with progress shown;
// a failed enrollment says so and that nothing changed; re-enroll and
// un-enroll appear once enrolled; the kill hook wants the admin password.
func TestRouterItems(t *testing.T) {
	hash, _ := adminpw.Hash("operator-password")
	c := withTunnel()
	c.Admin.PasswordHash = config.NewSecret(hash)
	enrolled := false
	var enrolledWith []string
	killed := 0
	r := &Router{
		Status: func() string {
			return map[bool]string{false: "not enrolled", true: "connected to its controller"}[enrolled]
		},
		Enrolled: func() bool { return enrolled },
		Check: func(jwt []byte) error {
			if !strings.HasPrefix(string(jwt), "eyJ") {
				return errors.New("malformed enrollment token: not three dot-separated parts")
			}
			return nil
		},
		Enroll: func(ctx context.Context, jwt []byte, progress func(string)) error {
			enrolledWith = append(enrolledWith, string(jwt))
			if string(jwt) == "eyJused" {
				return errors.New("enrollment failed: the controller says this token was used already")
			}
			progress("making a key")
			enrolled = true
			return nil
		},
		Unenroll: func(ctx context.Context) error { enrolled = false; return nil },
		Kill:     func() (int, error) { killed++; return 42, nil },
	}
	b := &Menu{Settings: newTestOwner(t, c), TestHooks: true, WrongPasswordDelay: 1}
	m := &console.Menu{Title: "T", Items: b.Items(b.RouterItems(r)...)}
	in := strings.Join([]string{
		"12", "garbage",
		"14",
		"12", ` "eyJgood.x.y" `,
		"14",
		"12", "eyJused", // re-enroll with a used token
		"15", "wrong",
		"15", "operator-password",
		"13", "yes",
		"15", // hidden once un-enrolled
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := m.Serve(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	for _, want := range []string{
		"This token cannot be used: malformed enrollment token",
		"Router: not enrolled",
		"enrollment: making a key", "Router enrolled in",
		"Router: connected to its controller",
		"Enrollment FAILED: enrollment failed: the controller says this token was used already",
		"Nothing changed; the token was deleted.",
		"failed: wrong password",
		"Router (pid 42) killed with SIGKILL",
		"Router un-enrolled",
		`No menu entry "15"`,
	} {
		if !strings.Contains(o, want) {
			t.Errorf("console lacks %q:\n%s", want, o)
		}
	}
	if strings.Join(enrolledWith, " ") != "eyJgood.x.y eyJused" {
		t.Errorf("Enroll called with %q; want the good token (cleaned) and the used one only", enrolledWith)
	}
	if killed != 1 {
		t.Errorf("killed %d times, want 1 (only with the right password)", killed)
	}
	if strings.Contains(o, "operator-password") {
		t.Errorf("the console shows the password")
	}
}
