package control

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/provision"
)

func TestBootProblems(t *testing.T) {
	rejected := provision.Result{File: "tunneler.env", KeptAs: "tunneler.env.invalid",
		Problems: []string{"line 2: IPSEC_REMOTENET: bad", "line 3: IPSEC_PSK: too short"},
		Warnings: []string{"line 5: warning: IPSEC_IKEREAUTH: ignored"}}
	for _, tc := range []struct {
		name  string
		lines []string
		prov  provision.Result
		want  []BootProblem
	}{
		{"nothing", nil, provision.Result{}, nil},
		{"imported", nil, provision.Result{File: "tunneler.json", Imported: true, Seq: 1, Removed: true}, nil},
		{"plain lines", []string{"/perm: neither blank nor ext4", "no colon here"}, provision.Result{},
			[]BootProblem{{Area: "/perm", Text: "/perm: neither blank nor ext4"}, {Text: "no colon here"}}},
		{"rejected file replaces init's provisioning line",
			[]string{"provisioning: tunneler.env on the ESP was NOT imported (see the lines above; kept as tunneler.env.invalid)", "router: start: boom"},
			rejected,
			[]BootProblem{{Area: "provisioning", Text: "The provisioning file tunneler.env on the boot partition was not imported",
				Details: append(rejected.Problems, rejected.Warnings...), File: "tunneler.env", KeptAs: "tunneler.env.invalid"},
				{Area: "router", Text: "router: start: boom"}}},
		{"rejected on a config drive, which the box does not rename", nil,
			provision.Result{File: "tunneler.json", From: "the config drive cidata (sr0)", Problems: []string{"tunnels[0].psk: too short"}},
			[]BootProblem{{Area: "provisioning", Text: "The provisioning file tunneler.json on the config drive cidata (sr0) was not imported",
				Details: []string{"tunnels[0].psk: too short"}, File: "tunneler.json"}}},
		{"imported but not removed", nil,
			provision.Result{File: "tunneler.json", Imported: true, Err: errors.New("imported, but could not remove it")},
			[]BootProblem{{Area: "provisioning", Text: "The provisioning file tunneler.json was imported, but it is still on the boot partition",
				Details: []string{"imported, but could not remove it"}, File: "tunneler.json"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, bootProblems(tc.lines, tc.prov)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

type noSaver struct{ t *testing.T }

func (s noSaver) SaveFrom(c config.Config, _ string) (int, error) {
	s.t.Error("an invalid file was saved")
	return 0, errors.New("no")
}

// A real rejected variables file, through provision and Status to the
// JSON the web UI sends: every problem names its variable, the renamed
// file is given, and the key itself never appears.
func TestStatusProvisioningNoSecret(t *testing.T) {
	const key = "Zx9-weak-but-secret-Qp4" // contains no word a message would use
	dir := t.TempDir()
	env := "IPSEC_REMOTEIP=203.0.113.5\nIPSEC_REMOTENET=10.1.0.0/33\nIPSEC_PSK='" + key + "'\nIPSEC_IKECIPHER=des-md5-modp768\n"
	if err := os.WriteFile(filepath.Join(dir, "tunneler.env"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	r := provision.Run(dir, noSaver{t})
	if r.Imported || len(r.Problems) == 0 {
		t.Fatalf("provision.Run imported a bad file: %+v", r)
	}
	b := New(Deps{Provisioning: r, Proc: t.TempDir(),
		Problems: func() []string { return []string{"provisioning: tunneler.env on the ESP was NOT imported"} },
		Firewall: func() ([]firewall.RuleCounter, error) {
			return []firewall.RuleCounter{{Name: "in_drop", Action: firewall.ActionDrop, What: "x", Counter: firewall.Counter{Packets: 3, Bytes: 120}}}, nil
		}})
	st := b.Status()
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), key) || strings.Contains(string(data), "weak-but") {
		t.Errorf("the PSK reached the status JSON:\n%s", data)
	}
	if len(st.Problems) != 1 {
		t.Fatalf("problems = %+v, want the file's alone", st.Problems)
	}
	p := st.Problems[0]
	if p.KeptAs != "tunneler.env.invalid" || !strings.Contains(p.Text, "tunneler.env on the boot partition was not imported") {
		t.Errorf("problem = %+v", p)
	}
	for _, want := range []string{"IPSEC_REMOTENET", "IPSEC_IKECIPHER"} {
		if !strings.Contains(strings.Join(p.Details, "\n"), want) {
			t.Errorf("details do not name %s: %q", want, p.Details)
		}
	}
	if want := []FirewallCounter{{Rule: "in_drop", Action: "drop", What: "x", Packets: 3, Bytes: 120}}; !cmp.Equal(st.Firewall, want) {
		t.Errorf("firewall = %+v, want %+v", st.Firewall, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "tunneler.env.invalid")); err != nil {
		t.Errorf("the rejected file is not kept renamed: %v", err)
	}
}

func TestStatusFirewallError(t *testing.T) {
	b := New(Deps{Proc: t.TempDir(), Firewall: func() ([]firewall.RuleCounter, error) {
		return nil, errors.New("read counters of table inet tunneler: permission denied")
	}})
	st := b.Status()
	if !strings.Contains(st.FirewallError, "permission denied") || st.Firewall == nil || len(st.Firewall) != 0 {
		t.Errorf("status = %q %#v", st.FirewallError, st.Firewall)
	}
}
