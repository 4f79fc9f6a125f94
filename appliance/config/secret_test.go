package config

import (
	"encoding/json"
	"fmt"
	"log"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSecretNeverPrinted formats a Config holding secrets every way a
// log line or an error could, and looks for the secrets in the output.
func TestSecretNeverPrinted(t *testing.T) {
	c := validConfig()
	secrets := []string{strongPSK1, strongPSK2, argonHash}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, &c), fmt.Sprintf(verb, c.Tunnels[0]), fmt.Sprintf(verb, c.Tunnels[0].PSK))
	}
	outs = append(outs, c.String(), fmt.Sprint(c.Tunnels), fmt.Sprintln(c.Admin))
	j, _ := json.Marshal(c)
	outs = append(outs, string(j))
	var logged strings.Builder
	log.New(&logged, "", 0).Printf("applying %v", c)
	outs = append(outs, logged.String())
	for _, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) || strings.Contains(out, fmt.Sprintf("%x", s)) {
				t.Fatalf("secret leaked in %q", out)
			}
		}
	}
	if got := fmt.Sprintf("%v|%s|%q|%#v", c.Tunnels[0].PSK, c.Tunnels[0].PSK, c.Tunnels[0].PSK, c.Tunnels[0].PSK); got != `(hidden)|(hidden)|"(hidden)"|config.Secret("(hidden)")` {
		t.Errorf("formatted secret = %s", got)
	}
	if got := fmt.Sprint(Secret{}); got != "" {
		t.Errorf("empty secret prints %q, want empty (a form shows 'not set')", got)
	}
}

func TestSecretJSON(t *testing.T) {
	var v struct {
		PSK Secret `json:"psk"`
	}
	if err := json.Unmarshal([]byte(`{"psk":"real-key"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.PSK.Reveal() != "real-key" || v.PSK.IsHidden() {
		t.Errorf("decoded %q hidden=%v, want the real key", v.PSK.Reveal(), v.PSK.IsHidden())
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"psk":"(hidden)"}` {
		t.Errorf("encoded %s", out)
	}
	// Posting back what the API returned must not set the key to "(hidden)".
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if !v.PSK.IsHidden() || v.PSK.Reveal() != "" {
		t.Errorf("decoding (hidden) gave %q hidden=%v, want the placeholder", v.PSK.Reveal(), v.PSK.IsHidden())
	}
}

func TestKeepSecrets(t *testing.T) {
	stored := validConfig()
	edited := validConfig()
	edited.Tunnels[0].PSK = Secret{hidden: true}
	edited.Tunnels[1].PSK = NewSecret("a-new-key-Zq8Lw3x_Pm7Rv2K") // changed on purpose
	edited.Admin.PasswordHash = Secret{hidden: true}
	edited.Tunnels = append(edited.Tunnels, Tunnel{Name: "new", IKESettings: IKESettings{PSK: Secret{hidden: true}}})
	got := edited.KeepSecrets(stored)
	if got.Tunnels[0].PSK.Reveal() != strongPSK1 || got.Admin.PasswordHash.Reveal() != argonHash {
		t.Error("placeholders were not replaced by the stored secrets")
	}
	if got.Tunnels[1].PSK.Reveal() != "a-new-key-Zq8Lw3x_Pm7Rv2K" {
		t.Error("a changed key was overwritten by the stored one")
	}
	if !got.Tunnels[2].PSK.IsHidden() {
		t.Error("a placeholder with nothing stored must stay for Validate to report")
	}
	if !edited.Tunnels[0].PSK.IsHidden() {
		t.Error("KeepSecrets changed its receiver")
	}
}

func TestSecretValues(t *testing.T) {
	c := validConfig()
	c.Profiles = []Profile{{Name: "fg", IKESettings: IKESettings{PSK: NewSecret("profile-psk-value")}}, {Name: "none"}}
	c.Tunnels = append(c.Tunnels, Tunnel{Name: "kept", IKESettings: IKESettings{PSK: Secret{hidden: true}}})
	got := c.SecretValues()
	want := []string{argonHash, strongPSK1, strongPSK2, "profile-psk-value"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SecretValues (-want +got):\n%s", diff)
	}
	if got := (Config{}).SecretValues(); len(got) != 0 {
		t.Errorf("SecretValues of an empty document = %q, want none", got)
	}
}
