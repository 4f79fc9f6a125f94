package opmenu

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
)

// The charon kill test hook sits behind the debug entry's admin password
// and acts only on the exact word; Enter goes back.
func TestKillCharonHook(t *testing.T) {
	hash, _ := adminpw.Hash("operator-password")
	c := config.Config{Version: config.CurrentVersion}
	c.Admin.PasswordHash = config.NewSecret(hash)
	killed := 0
	b := &Menu{Settings: newTestOwner(t, c), TestHooks: true, WrongPasswordDelay: 1, KillCharon: func() (int, error) { killed++; return 77, nil }}
	m := &console.Menu{Title: "T", Items: b.Items()}
	in := strings.Join([]string{
		"11", "wrong",
		"11", "operator-password", "", // Enter: back, nothing killed
		"11", "operator-password", "kill",
		"11", "operator-password", "kill-charon",
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := m.Serve(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Errorf("charon killed %d times, want 1 (right password and the exact word only)", killed)
	}
	if o := out.String(); !strings.Contains(o, "charon (pid 77) killed with SIGKILL") {
		t.Errorf("console does not say charon was killed:\n%s", o)
	}
}
