package control

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// CheckSetupCode compares code with the console's one-time code.
func (o *Owner) CheckSetupCode(code string) bool {
	if o.d.SetupCode == nil || o.AdminHash() != "" {
		return false
	}
	want := o.d.SetupCode()
	if want == "" {
		return false
	}
	w := NormalizeSetupCode(want)
	return subtle.ConstantTimeCompare([]byte(NormalizeSetupCode(code)), []byte(w)) == 1
}

var setupCodeRE = regexp.MustCompile(`[^A-Za-z0-9]`)

// NormalizeSetupCode drops everything but letters and digits and upper-
// cases the rest, at most 64 characters: "1234-5678", "1234 5678" and
// "12345678" are one code.
func NormalizeSetupCode(s string) string {
	c := strings.ToUpper(setupCodeRE.ReplaceAllString(s, ""))
	if len(c) > 64 {
		c = c[:64]
	}
	return c
}

// Do runs an operator action; it returns once the action has started.
func (o *Owner) Do(ctx context.Context, a Action) error {
	switch a.Kind {
	case ActReconnect:
		if o.d.Tunnels == nil || o.d.Tunnels() == nil {
			return errors.New("charon is not running")
		}
		o.d.Logf("web UI: reconnect tunnel %s", a.Tunnel)
		return o.d.Tunnels().Reconnect(a.Tunnel)
	case ActRestartRemote:
		return o.restartRemote(a.Tunnel)
	case ActRestartCharon:
		if o.d.RestartCharon == nil {
			return errors.New("charon is not running")
		}
		o.d.Logf("web UI: restart charon")
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := o.d.RestartCharon(ctx); err != nil {
				o.d.Logf("web UI: restart charon: %v", err)
			}
		}()
		return nil
	case ActConfirmTrial:
		return o.ConfirmTrial(a.Source)
	case ActRevertTrial:
		return o.RevertTrial(a.Source)
	case ActReboot:
		return askPower(o.d.Reboot, "reboot")
	case "poweroff", "power-off":
		return askPower(o.d.PowerOff, "power off")
	case ActFactoryReset:
		if o.d.FactoryReset == nil {
			return errors.New("factory reset is not available")
		}
		o.d.Logf("web UI: factory reset")
		return o.d.FactoryReset()
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// askPower asks init to reboot or power off, if the box can.
func askPower(ask func(reason string), what string) error {
	if ask == nil {
		return fmt.Errorf("%s is not available", what)
	}
	ask("asked from the web UI")
	return nil
}
