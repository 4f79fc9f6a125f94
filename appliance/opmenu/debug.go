package opmenu

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/appliance/console"
)

// The debug entries: test hooks shown only when the kernel command line
// turns test hooks on (this "debug shell" and the router's kill), each
// behind the admin password (askAdmin).

func (b *Menu) debugShell(s *console.Session) error {
	err := b.askAdmin(s, "debug shell")
	if errors.Is(err, errNoAdmin) {
		s.Printf("No admin password is set (setup mode). Set one in the web UI first; the debug entry needs it.\n")
		return nil
	}
	if err != nil {
		return err
	}
	b.logf("console menu: debug shell: admin password accepted; no shell is installed")
	s.Printf("Password accepted, but this image has no shell installed (by design).\n")
	s.Printf("Use the entries of this menu or the web UI.\n")
	if b.KillCharon != nil {
		ans, ok := s.Ask("Test hook: type kill-charon to kill charon with SIGKILL, or Enter to go back: ")
		if !ok {
			return io.EOF
		}
		if strings.TrimSpace(ans) == "kill-charon" {
			pid, err := b.KillCharon()
			if err != nil {
				return fmt.Errorf("kill charon: %w", err)
			}
			b.logf("console menu: test hook: charon (pid %d) killed with SIGKILL", pid)
			s.Printf("charon (pid %d) killed with SIGKILL; the supervisor restarts it.\n", pid)
		}
	}
	return nil
}

// errNoAdmin: in setup mode there is no admin password to check.
var errNoAdmin = errors.New("no admin password is set (setup mode); the debug entries need it")

// askAdmin asks the admin password and checks it (slowly when wrong).
func (b *Menu) askAdmin(s *console.Session, what string) error {
	if b.Settings == nil {
		return errors.New("/perm is not mounted: no admin password is kept")
	}
	hash := b.Settings.AdminHash()
	if hash == "" {
		return errNoAdmin
	}
	pw, ok := s.AskSecret("Admin password: ")
	if !ok {
		return io.EOF
	}
	if err := adminpw.Verify(hash, pw); err != nil {
		b.logf("console menu: %s: wrong admin password", what)
		delay := b.WrongPasswordDelay
		if delay == 0 {
			delay = 2 * time.Second
		}
		time.Sleep(delay)
		return errors.New("wrong password")
	}
	return nil
}
