package control

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tunneler/tunneler/appliance/backup"
	"github.com/tunneler/tunneler/appliance/config"
)

const passphrase = "correct horse battery staple"

// fakePerm is a /perm in a temp dir with a router identity and a web UI
// certificate, and a router that records stops and starts.
type fakePerm struct {
	dir    string
	mu     sync.Mutex
	router []string // "stop", "start"
}

func newFakePerm(t *testing.T, identity string) *fakePerm {
	t.Helper()
	p := &fakePerm{dir: t.TempDir()}
	if identity != "" {
		p.write(t, "ziti/identity/cert.pem", identity+" cert")
		p.write(t, "ziti/identity/key.pem", identity+" key")
		p.write(t, "ziti/identity/enrollment.json", `{"router_id":"`+identity+`"}`)
		p.write(t, "webui/cert.pem", identity+" web cert")
	}
	return p
}

func (p *fakePerm) write(t *testing.T, rel, s string) {
	t.Helper()
	f := filepath.Join(p.dir, rel)
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (p *fakePerm) files(t *testing.T) map[string][]byte {
	t.Helper()
	m, err := backup.Collect(p.dir, "ziti", "webui")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (p *fakePerm) events() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.router...)
}

func (p *fakePerm) deps(d Deps, nics ...string) Deps {
	d.PermDir = p.dir
	d.BackupDirs = func(config.Config) []PermDir {
		return []PermDir{{Rel: "ziti/identity", StagePrefix: ".enroll-", LastFile: "enrollment.json", Router: true}, {Rel: "webui", StagePrefix: ".restore-"}}
	}
	d.NICs = func() []string { return nics }
	d.StopRouter = func(context.Context) error {
		p.mu.Lock()
		p.router = append(p.router, "stop")
		p.mu.Unlock()
		return nil
	}
	d.StartRouter = func(context.Context, config.Config) error {
		p.mu.Lock()
		p.router = append(p.router, "start")
		p.mu.Unlock()
		return nil
	}
	return d
}

// boxA is a configured box with its LAN and WAN on two NICs.
func boxA() config.Config {
	c := twoTunnels()
	c.Interfaces = []config.Interface{{Role: config.RoleWAN, MAC: "52:54:00:aa:00:01", Mode: config.ModeDHCP},
		{Role: config.RoleLAN, MAC: "52:54:00:aa:00:02", Mode: config.ModeStatic, Address: config.ParsePrefix("192.168.50.1/24")}}
	return c
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A backup made by box A restores onto box B, a fresh box with other
// NICs: B gets A's config with its keys, A's router identity and web
// certificate; the roles move to B's NICs, each move in a note; the
// router is stopped while its identity is replaced and started after.
// Bad files and passphrases change nothing.
func TestBackupRoundTrip(t *testing.T) {
	ctx := context.Background()
	permA := newFakePerm(t, "router-A")
	stA, _ := config.OpenStore(t.TempDir())
	seq, _ := stA.SaveFrom(boxA(), config.SourceWebUI)
	a := New(permA.deps(Deps{Store: stA, Boot: boxA(), BootGen: seq, Proc: t.TempDir(), Version: "v-test"}))

	var file bytes.Buffer
	if err := a.Backup(&file, "short"); !errors.Is(err, backup.ErrWeakPassphrase) || file.Len() > 0 {
		t.Fatalf("backup with a short passphrase: %v (%d bytes written), want ErrWeakPassphrase and nothing", err, file.Len())
	}
	if err := a.Backup(&file, passphrase); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(file.Bytes(), []byte(psk)) || bytes.Contains(file.Bytes(), []byte("router-A key")) {
		t.Fatal("the backup holds a secret in clear")
	}

	permB := newFakePerm(t, "")
	stB, _ := config.OpenStore(t.TempDir())
	b := New(permB.deps(Deps{Store: stB, Proc: t.TempDir(), TunnelTimeout: 10 * time.Millisecond}, "52:54:00:bb:00:01", "52:54:00:bb:00:02"))

	bad := []struct {
		name string
		file []byte
		pass string
		want error
	}{
		{"wrong passphrase", file.Bytes(), "not the passphrase at all", backup.ErrWrongPassphrase},
		{"truncated", file.Bytes()[:file.Len()/2], passphrase, backup.ErrTruncated},
		{"tampered", flipByte(file.Bytes(), file.Len()-40), passphrase, backup.ErrCorrupt},
		{"not a backup", []byte(`{"version":1}`), passphrase, backup.ErrNotBackup},
	}
	for _, tt := range bad {
		if _, err := b.OpenBackup(bytes.NewReader(tt.file), tt.pass); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if len(permB.files(t)) != 0 || b.Generation() != 0 {
		t.Fatal("a bad backup changed box B")
	}

	plan, err := b.OpenBackup(bytes.NewReader(file.Bytes()), passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Notes) != 2 || plan.Config.Interfaces[0].MAC != "52:54:00:bb:00:01" || plan.Config.Interfaces[1].MAC != "52:54:00:bb:00:02" {
		t.Errorf("roles onto B's NICs: interfaces %+v, notes %q", plan.Config.Interfaces, plan.Notes)
	}
	if _, _, err := b.RestoreBackup(ctx, plan, 1, FromWebUI, 0); !errors.As(err, new(*StaleError)) {
		t.Errorf("restore based on a generation B never had: %v, want a StaleError", err)
	}
	gen, errs, err := b.RestoreBackup(ctx, plan, 0, FromWebUI, 0)
	if err != nil || len(errs) > 0 {
		t.Fatal(errs, err)
	}
	if d := cmp.Diff(permA.files(t), permB.files(t)); d != "" {
		t.Errorf("B's /perm files differ from A's (-A +B):\n%s", d)
	}
	c, _, _ := stB.Load()
	if d := cmp.Diff(tunnelsOf(boxA()), tunnelsOf(c), secretCmp, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("B's tunnels differ from A's (-A +B):\n%s", d)
	}
	if c.Admin.PasswordHash.Reveal() != boxA().Admin.PasswordHash.Reveal() {
		t.Error("B did not get A's admin password")
	}
	h, _ := stB.History()
	if h[0].Seq != gen || h[0].Source != config.SourceRestore {
		t.Errorf("B's newest generation %+v, want %d from restore", h[0], gen)
	}
	waitFor(t, "the router started after the apply", func() bool { return len(permB.events()) == 2 })
	if d := cmp.Diff([]string{"stop", "start"}, permB.events()); d != "" {
		t.Errorf("router (-want +got):\n%s", d)
	}
}

// A restore on trial that is not confirmed puts the box's own identity
// back along with its config.
func TestRestoreBackupTrialRevert(t *testing.T) {
	ctx := context.Background()
	permA := newFakePerm(t, "router-A")
	stA, _ := config.OpenStore(t.TempDir())
	seq, _ := stA.SaveFrom(boxA(), config.SourceWebUI)
	a := New(permA.deps(Deps{Store: stA, Boot: boxA(), BootGen: seq, Proc: t.TempDir()}))
	var file bytes.Buffer
	if err := a.Backup(&file, passphrase); err != nil {
		t.Fatal(err)
	}

	permB := newFakePerm(t, "router-B")
	own := permB.files(t)
	o, stB := storeOwner(t, t.TempDir(), testConfig())
	o.d = permB.deps(o.d)
	plan, err := o.OpenBackup(&file, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	gen, errs, err := o.RestoreBackup(ctx, plan, 1, FromWebUI, 100*time.Millisecond)
	if err != nil || len(errs) > 0 {
		t.Fatal(errs, err)
	}
	if d := cmp.Diff(permA.files(t), permB.files(t)); d != "" {
		t.Errorf("on trial, B's files differ from A's (-A +B):\n%s", d)
	}
	waitFor(t, "the trial to run out", func() bool { return o.Trial() == nil && o.Generation() > gen })
	if d := cmp.Diff(own, permB.files(t)); d != "" {
		t.Errorf("after the revert, B's own files are not back (-own +got):\n%s", d)
	}
	c, _, _ := stB.Load()
	if d := cmp.Diff(tunnelsOf(testConfig()), tunnelsOf(c), secretCmp, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("after the revert, B's tunnels (-want +got):\n%s", d)
	}
	waitFor(t, "the router restarted twice", func() bool { return len(permB.events()) == 4 })
}

func flipByte(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x40
	return out
}
