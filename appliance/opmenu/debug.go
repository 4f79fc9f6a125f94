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

// The debug entry: a test hook shown only when the kernel command line
// turns test hooks on.

func (b *Menu) debugShell(s *console.Session) error {
	if b.Settings == nil {
		return errors.New("/perm is not mounted: no admin password is kept")
	}
	hash := b.Settings.AdminHash()
	if hash == "" {
		s.Printf("No admin password is set (setup mode). Set one in the web UI first; the debug entry needs it.\n")
		return nil
	}
	pw, ok := s.AskSecret("Admin password: ")
	if !ok {
		return io.EOF
	}
	if err := adminpw.Verify(hash, pw); err != nil {
		b.logf("console menu: debug shell: wrong admin password")
		delay := b.WrongPasswordDelay
		if delay == 0 {
			delay = 2 * time.Second
		}
		time.Sleep(delay)
		return errors.New("wrong password")
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
