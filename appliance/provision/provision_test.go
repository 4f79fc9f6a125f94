package provision

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
)

const psk = "q7Vd-2mXz-Lp9R-wT4k-Hs8N-bY3c"

const goodEnv = `# moved from vnf-ipsec
IPSEC_LOCALIP=%any
IPSEC_REMOTEIP=203.0.113.5
IPSEC_REMOTENET=10.1.0.0/16,10.2.0.0/16
IPSEC_PSK='` + psk + `'
IPSEC_KEYEXCHANGE=ikev2
IPSEC_INTERFACES=eth0
`

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func openStore(t *testing.T) *config.Store {
	t.Helper()
	s, err := config.OpenStore(filepath.Join(t.TempDir(), "config"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNothingToDo(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "syslinux.cfg", "x")
	r := Run(esp, openStore(t))
	if r.File != "" || r.Imported || len(r.Lines()) != 0 {
		t.Errorf("Run with no file = %+v", r)
	}
}

func TestEnvImportedAndErased(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "TUNNELER.ENV", goodEnv) // FAT: any case
	store := openStore(t)
	r := Run(esp, store)
	if !r.Imported || !r.Removed || r.Err != nil || r.Seq != 1 {
		t.Fatalf("Run = %+v", r)
	}
	if got := names(t, esp); len(got) != 0 {
		t.Errorf("ESP still holds %v", got)
	}
	c, _, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tunnels) != 1 || c.Tunnels[0].PeerAddress != "203.0.113.5" || c.Tunnels[0].PSK.Reveal() != psk {
		t.Errorf("stored config = %v", c)
	}
	report := strings.Join(r.Lines(), "\n")
	for _, want := range []string{"imported TUNNELER.ENV from the ESP as config generation 1", "erased and removed", "IPSEC_INTERFACES"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, psk) {
		t.Errorf("report shows the PSK:\n%s", report)
	}
}

func TestJSONImported(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, JSONName, `{"version": 2, "system": {"hostname": "branch-7"},
	 "interfaces": [{"role": "lan", "mode": "static", "address": "192.168.50.2/24"}]}`)
	write(t, esp, EnvName, goodEnv)
	store := openStore(t)
	r := Run(esp, store)
	if !r.Imported || !r.Removed {
		t.Fatalf("Run = %+v", r)
	}
	if got := names(t, esp); len(got) != 1 || got[0] != EnvName {
		t.Errorf("ESP holds %v; want only the unread env file", got)
	}
	if !strings.Contains(strings.Join(r.Lines(), "\n"), "tunneler.env is also on the ESP and was not read") {
		t.Errorf("report does not mention the second file:\n%s", strings.Join(r.Lines(), "\n"))
	}
	c, _, _ := store.Load()
	if c.System.Hostname != "branch-7" {
		t.Errorf("stored hostname %q", c.System.Hostname)
	}
}

func TestInvalidFilesKeptRenamedAndExplained(t *testing.T) {
	for _, tc := range []struct {
		name, file, data string
		want             []string
	}{
		{"env with bad values", EnvName, "IPSEC_REMOTEIP=203.0.113.5\nIPSEC_REMOTENET=10.1.0.0/33\nIPSEC_PSK=secret\nIPSEC_USE_MANUAL_CONFIG=yes\n",
			[]string{"line 2: IPSEC_REMOTENET", "line 3: IPSEC_PSK", "line 4: IPSEC_USE_MANUAL_CONFIG"}},
		{"json with a typo", JSONName, "{\"version\": 2,\n \"sytem\": {}}", []string{"line 2", "sytem"}},
		{"json with bad values", JSONName, `{"version": 2, "tunnels": [{"name": "Bad Name!", "peer_address": "203.0.113.5", "remote_networks": ["10.1.0.0/16"]}]}`,
			[]string{"tunnels[0].name", "tunnels[0].psk"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			esp := t.TempDir()
			write(t, esp, tc.file, tc.data)
			store := openStore(t)
			r := Run(esp, store)
			if r.Imported || r.KeptAs != tc.file+".invalid" || r.Err != nil {
				t.Fatalf("Run = %+v", r)
			}
			if got := names(t, esp); len(got) != 1 || got[0] != tc.file+".invalid" {
				t.Errorf("ESP holds %v", got)
			}
			if _, _, err := store.Load(); !errors.Is(err, config.ErrNoConfig) {
				t.Errorf("an invalid file reached the store: %v", err)
			}
			report := strings.Join(r.Lines(), "\n")
			for _, want := range append(tc.want, "NOT imported", "kept on the ESP as "+tc.file+".invalid") {
				if !strings.Contains(report, want) {
					t.Errorf("report lacks %q:\n%s", want, report)
				}
			}
			if strings.Contains(report, "secret") {
				t.Errorf("report shows the PSK:\n%s", report)
			}
			status := filepath.Join(t.TempDir(), "provisioning.txt")
			if err := WriteStatus(status, r); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(status); string(b) != report+"\n" {
				t.Errorf("status file = %q, want the report", b)
			}
			// A later boot finds no file, and shows this one again.
			last, ok := LastRejected(status)
			if !ok || last.File != tc.file || last.KeptAs != r.KeptAs || strings.Join(last.Lines(), "\n") != report {
				t.Errorf("LastRejected = %+v, %v; want the same result", last, ok)
			}
			if b, _ := os.ReadFile(filepath.Join(filepath.Dir(status), "provisioning.json")); strings.Contains(string(b), "secret") {
				t.Errorf("kept result shows the PSK: %s", b)
			}
		})
	}
}

func TestLastRejectedOnlyForRejectedFiles(t *testing.T) {
	dir := t.TempDir()
	status := filepath.Join(dir, "provisioning.txt")
	if _, ok := LastRejected(status); ok {
		t.Error("LastRejected with nothing kept: ok")
	}
	if err := WriteStatus(status, Result{File: EnvName, Imported: true, Seq: 1, Removed: true}); err != nil {
		t.Fatal(err)
	}
	if r, ok := LastRejected(status); ok {
		t.Errorf("LastRejected after an import = %+v", r)
	}
	os.WriteFile(filepath.Join(dir, "provisioning.json"), []byte("{not json"), 0o600)
	if r, ok := LastRejected(status); ok {
		t.Errorf("LastRejected of a corrupt file = %+v", r)
	}
}

type failingStore struct{}

func (failingStore) SaveFrom(config.Config, string) (int, error) { return 0, errors.New("disk full") }

func TestStoreFailureKeepsTheFile(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, EnvName, goodEnv)
	r := Run(esp, failingStore{})
	if r.Imported || r.Err == nil || !strings.Contains(r.Err.Error(), "disk full") {
		t.Errorf("Run = %+v", r)
	}
	if got := names(t, esp); len(got) != 1 || got[0] != EnvName {
		t.Errorf("ESP holds %v; the file must stay for the next try", got)
	}
}
