package provision

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/backup"
	"github.com/tunneler/tunneler/appliance/config"
)

const backupPass = "a long passphrase for the ESP"

func backupFile(t *testing.T) []byte {
	t.Helper()
	c := config.Config{Version: config.CurrentVersion,
		Admin:      config.Admin{PasswordHash: config.NewSecret("$2a$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012")},
		Interfaces: []config.Interface{{Role: config.RoleWAN, MAC: "52:54:00:aa:00:01", Mode: config.ModeDHCP}},
		Tunnels: []config.Tunnel{{Name: "site1", PeerAddress: "203.0.113.5", IKESettings: config.IKESettings{PSK: config.NewSecret(psk)},
			RemoteNetworks: []config.Prefix{config.ParsePrefix("10.1.0.0/16")}}}}
	var b bytes.Buffer
	if err := backup.Export(&b, backup.Contents{Config: c, Files: map[string][]byte{"ziti/identity/key.pem": []byte("key")}}, backupPass); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A backup and its pass file on the ESP restore the box headless: files
// first, then the config (roles moved onto this box's NICs); both files
// are erased. Bad inputs are explained, change nothing, erase the pass
// file and keep the backup as .invalid.
func TestBackupRestoredHeadless(t *testing.T) {
	file := backupFile(t)
	tampered := bytes.Clone(file)
	tampered[len(tampered)-20] ^= 1
	tests := []struct {
		name      string
		file      []byte
		pass      string // "-": no pass file
		wantProb  string // "" when restored
		wantFiles []string
	}{
		{"restored", file, backupPass + "\r\n", "", nil},
		{"no pass file", file, "-", "tunneler-backup.pass is missing", []string{"tunneler-backup.invalid"}},
		{"wrong passphrase", file, "not the passphrase\n", "wrong passphrase", []string{"tunneler-backup.invalid"}},
		{"truncated", file[:len(file)-100], backupPass, "cut short", []string{"tunneler-backup.invalid"}},
		{"tampered", tampered, backupPass, "damaged or was altered", []string{"tunneler-backup.invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			esp := t.TempDir()
			write(t, esp, BackupName, string(tt.file))
			if tt.pass != "-" {
				write(t, esp, BackupPassName, tt.pass)
			}
			st := openStore(t)
			var wrote map[string][]byte
			var order []string
			r := RunBackup(esp, &orderStore{Store: st, order: &order}, BackupTarget{NICs: []string{"52:54:00:bb:00:01"},
				WriteFiles: func(c config.Config, files map[string][]byte) error {
					order = append(order, "files")
					wrote = files
					return nil
				}})
			if d := cmp.Diff(tt.wantFiles, names(t, esp)); d != "" {
				t.Errorf("ESP after (-want +got):\n%s", d)
			}
			if tt.wantProb != "" {
				if r.Imported || !strings.Contains(strings.Join(r.Problems, "; "), tt.wantProb) || wrote != nil {
					t.Errorf("result %+v, want the problem %q and nothing written", r, tt.wantProb)
				}
				if _, _, err := st.Load(); !errors.Is(err, config.ErrNoConfig) {
					t.Errorf("a bad backup saved a config: %v", err)
				}
				return
			}
			if !r.Imported || r.Err != nil || !r.Removed || string(wrote["ziti/identity/key.pem"]) != "key" {
				t.Fatalf("result %+v, files %v", r, wrote)
			}
			if !slices.Equal(order, []string{"files", "save"}) {
				t.Errorf("order %v, want the files before the config", order)
			}
			c, _, _ := st.Load()
			if c.Tunnels[0].PSK.Reveal() != psk || c.Interfaces[0].MAC != "52:54:00:bb:00:01" || len(r.Warnings) != 1 {
				t.Errorf("restored config: key kept %v, WAN on %s, warnings %q", c.Tunnels[0].PSK.Reveal() == psk, c.Interfaces[0].MAC, r.Warnings)
			}
			h, _ := st.History()
			if h[0].Source != config.SourceRestore {
				t.Errorf("saved from %q, want restore", h[0].Source)
			}
		})
	}
}

// orderStore records when the config is saved.
type orderStore struct {
	*config.Store
	order *[]string
}

func (s *orderStore) SaveFrom(c config.Config, source string) (int, error) {
	*s.order = append(*s.order, "save")
	return s.Store.SaveFrom(c, source)
}
