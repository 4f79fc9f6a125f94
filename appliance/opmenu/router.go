package opmenu

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/console"
)

// Router is what the menu does with the OpenZiti edge router; init
// supplies it to RouterItems.
type Router struct {
	// Status is one line: connected to the controller or not, and why.
	Status func() string
	// Enrolled reports whether an identity is stored.
	Enrolled func() bool
	// Check decodes a token and says in plain words what is wrong with it
	// (kind, issuer, expiry), before anything is touched.
	Check func(jwt []byte) error
	// Enroll enrolls with jwt, reporting each step to progress, deletes
	// the token, and (re)starts the router. On failure the box is as it
	// was.
	Enroll func(ctx context.Context, jwt []byte, progress func(string)) error
	// Unenroll stops the router and removes its identity.
	Unenroll func(ctx context.Context) error
	// Kill sends SIGKILL to the router (debug entry, behind the admin
	// password) and returns its pid.
	Kill func() (int, error)
}

// EnrollTimeout bounds one enrollment (the controller may be far away).
const EnrollTimeout = 2 * time.Minute

// RouterItems returns the router's entries (keys 12 to 15), for Items'
// extra entries: enroll or re-enroll, un-enroll, status, and the debug
// kill hook behind the admin password.
func (b *Menu) RouterItems(r *Router) []console.Item {
	if r == nil {
		return nil
	}
	enrolled := func() bool { return r.Enrolled != nil && r.Enrolled() }
	return []console.Item{
		{Key: "12", Title: "Router: enroll (paste the router's enrollment JWT)", Shown: func() bool { return !enrolled() }, Dialog: func(s *console.Session) error { return b.enrollRouter(s, r) }},
		{Key: "12", Title: "Router: re-enroll with a new JWT (replaces the identity)", Shown: enrolled, Dialog: func(s *console.Session) error { return b.enrollRouter(s, r) }},
		{Key: "13", Title: "Router: un-enroll (stops it, removes its identity)", Shown: enrolled,
			Confirm: "The router stops and its identity is deleted; the controller must issue a new JWT to enroll again.",
			Run: func(w io.Writer) error {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := r.Unenroll(ctx); err != nil {
					return err
				}
				b.logf("console menu: router un-enrolled")
				fmt.Fprintf(w, "Router un-enrolled: stopped, identity removed.\n")
				return nil
			}},
		{Key: "14", Title: "Router: status", Run: func(w io.Writer) error {
			fmt.Fprintf(w, "Router: %s\n", r.Status())
			return nil
		}},
		{Key: "15", Title: "Debug: kill the router with SIGKILL (test hook; asks the admin password)", Shown: func() bool { return b.TestHooks && enrolled() }, Dialog: func(s *console.Session) error { return b.killRouter(s, r) }},
	}
}

// TokenFromInput cleans what the operator pasted: surrounding space and
// quotes, and line breaks a terminal may have put into a long line.
func TokenFromInput(s string) []byte {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, `"'`)
	return []byte(strings.Join(strings.Fields(s), ""))
}

func (b *Menu) enrollRouter(s *console.Session, r *Router) error {
	s.Printf("Paste the router's enrollment JWT (from `ziti edge create edge-router ... -o FILE`)\n")
	s.Printf("on one line and press Enter. It is not echoed; an empty line cancels.\n")
	a, ok := s.AskSecret("JWT: ")
	if !ok {
		return io.EOF
	}
	jwt := TokenFromInput(a)
	if len(jwt) == 0 {
		s.Printf("Nothing pasted; nothing changed.\n")
		return nil
	}
	s.Printf("Token received (%d characters).\n", len(jwt))
	if r.Check != nil {
		if err := r.Check(jwt); err != nil {
			b.logf("console menu: router enrollment: token refused: %v", err)
			s.Printf("This token cannot be used: %v.\nNothing changed.\n", err)
			return nil
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), EnrollTimeout)
	defer cancel()
	start := time.Now()
	err := r.Enroll(ctx, jwt, func(step string) { s.Printf("  enrollment: %s\n", step) })
	if err != nil {
		b.logf("console menu: router enrollment failed: %v", err)
		s.Printf("Enrollment FAILED: %v.\nNothing changed; the token was deleted.\n", err)
		return nil
	}
	b.logf("console menu: router enrolled")
	s.Printf("Router enrolled in %.1fs and started. Use 14 to see when it is connected.\n", time.Since(start).Seconds())
	return nil
}

func (b *Menu) killRouter(s *console.Session, r *Router) error {
	if err := b.askAdmin(s, "kill router"); err != nil {
		return err
	}
	pid, err := r.Kill()
	if err != nil {
		return err
	}
	b.logf("console menu: debug: router (pid %d) killed with SIGKILL", pid)
	s.Printf("Router (pid %d) killed with SIGKILL; the supervisor restarts it.\n", pid)
	return nil
}
