package update

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// fakeLoader records what the firmware asked of the boot loader.
type fakeLoader struct{ calls []string }

func (l *fakeLoader) Name() string { return "fake" }
func (l *fakeLoader) WriteEntry(slot string, m Manifest) error {
	l.calls = append(l.calls, "entry "+slot+" "+m.Version)
	return nil
}
func (l *fakeLoader) Trial(slot string) error    { l.calls = append(l.calls, "trial "+slot); return nil }
func (l *fakeLoader) EndTrial(slot string) error { l.calls = append(l.calls, "end "+slot); return nil }
func (l *fakeLoader) Commit(slot string) error   { l.calls = append(l.calls, "commit "+slot); return nil }

// box is one ESP seen from slot a (before the update) and slot b (after).
func box(t *testing.T) (fromA, fromB *Firmware, l *fakeLoader, reboots *[]string) {
	in, dir := esp(t)
	os.Remove(filepath.Join(dir, "b", SlotManifest))
	l = &fakeLoader{}
	reboots = new([]string)
	clock := func() time.Time { return running.Add(48 * time.Hour) }
	fromA = &Firmware{Installer: in, Loader: l, Reboot: func(r string) { *reboots = append(*reboots, r) },
		Up: func() []string { return []string{"tunnel site1", "router"} }, Now: clock}
	inB := &Installer{ESP: in.ESP, Running: "b", Board: in.Board, Key: in.Key, Version: "v2", Built: running.Add(24 * time.Hour)}
	fromB = &Firmware{Installer: inB, Loader: l, Reboot: fromA.Reboot, Now: clock}
	return
}

func TestUpdateCommitted(t *testing.T) {
	a, b, l, reboots := box(t)
	var events []string
	a.OnEvent = func(e Event) { events = append(events, "a: "+e.Outcome) }
	b.OnEvent = func(e Event) { events = append(events, "b: "+e.Outcome) }
	if st := a.Status(); !st.Other.Empty || st.Running.Version != "old" {
		t.Errorf("before: %+v", st)
	}
	if err := a.BootInto("v2", 0); err == nil {
		t.Error("BootInto an empty slot worked")
	}
	if _, err := a.Install(context.Background(), bytes.NewReader(bundle(t, testKey, nil)), Options{}); err != nil {
		t.Fatal(err)
	}
	if st := a.Status(); st.Other.Version != "v2" || st.Last.Outcome != "installed" {
		t.Errorf("after install: %+v %+v", st.Other, st.Last)
	}
	if err := a.BootInto("v3", 0); err == nil || !strings.Contains(err.Error(), "holds v2, not v3") {
		t.Errorf("BootInto the wrong version: %v", err)
	}
	if err := a.BootInto("v2", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(*reboots) != 1 {
		t.Fatalf("reboots %q", *reboots)
	}
	trial, notice := b.AtBoot()
	if trial == nil || notice != "" {
		t.Fatalf("trial boot: %+v %q", trial, notice)
	}
	if trial.Window != "3m0s" {
		t.Errorf("trial window %q, want the 3m0s asked for", trial.Window)
	}
	if diff := cmp.Diff([]string{"tunnel site1", "router"}, trial.Up); diff != "" {
		t.Errorf("what was up before (-want +got):\n%s", diff)
	}
	if st := b.Status(); st.Trial == nil {
		t.Error("the trial boot's status shows no trial")
	}
	if err := b.Commit(trial); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a: installed", "a: trial", "b: committed"}, events); diff != "" {
		t.Errorf("events heard (-want +got):\n%s", diff)
	}
	want := []string{"entry b v2", "trial b", "end b", "commit b"}
	if diff := cmp.Diff(want, l.calls); diff != "" {
		t.Errorf("boot loader calls (-want +got):\n%s", diff)
	}
	st := b.Status()
	if st.Trial != nil || st.Last == nil || st.Last.Outcome != "committed" {
		t.Errorf("after commit: %+v", st)
	}
	if trial, notice := b.AtBoot(); trial != nil || notice != "" {
		t.Errorf("a boot after the commit: %+v %q", trial, notice)
	}
}

func TestUpdateRolledBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(a, b *Firmware)
		says string
	}{
		{"the gate failed", func(a, b *Firmware) {
			trial, _ := b.AtBoot()
			b.RollBack(trial, "tunnel site1 not up after 10m0s")
		}, "update to v2 rolled back: tunnel site1 not up after 10m0s"},
		{"a hang in the trial", func(a, b *Firmware) { b.AtBoot() }, "stopped during its trial boot"},
		{"the trial never reached init", func(a, b *Firmware) {}, "never reached init"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, l, _ := box(t)
			a.Install(context.Background(), bytes.NewReader(bundle(t, testKey, nil)), Options{})
			if err := a.BootInto("v2", 0); err != nil {
				t.Fatal(err)
			}
			tc.stop(a, b)
			trial, notice := a.AtBoot()
			if trial != nil || !strings.Contains(notice, tc.says) {
				t.Errorf("back on a: %+v, notice %q, want %q", trial, notice, tc.says)
			}
			if st := a.Status(); st.Last == nil || st.Last.Outcome != "rolled back" || !strings.Contains(st.Last.String(), tc.says) {
				t.Errorf("status %+v", st.Last)
			}
			for _, c := range l.calls {
				if strings.HasPrefix(c, "commit") {
					t.Errorf("committed: %q", l.calls)
				}
			}
		})
	}
}

func TestCheckWindow(t *testing.T) {
	for _, tc := range []struct {
		window time.Duration
		ok     bool
	}{
		{0, true}, {MinWindow, true}, {DefaultWindow, true}, {MaxWindow, true},
		{30 * time.Second, false}, {2 * time.Hour, false}, {-time.Minute, false},
	} {
		err := CheckWindow(tc.window)
		if (err == nil) != tc.ok {
			t.Errorf("CheckWindow(%s) = %v, want ok %v", tc.window, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "choose between 1m0s and 1h0m0s") {
			t.Errorf("CheckWindow(%s) = %q: does not say what is allowed", tc.window, err)
		}
	}
}

func TestBootIntoUnderDirectBoot(t *testing.T) {
	a, _, _, _ := box(t)
	a.Loader = nil
	if err := a.BootInto("v2", 0); err == nil || !strings.Contains(err.Error(), "direct kernel boot") {
		t.Errorf("err = %v", err)
	}
}

func TestGate(t *testing.T) {
	n := 0
	checks := []Check{{"supervision", func() bool { return true }}, {"tunnel site1", func() bool { n++; return n > 2 }}}
	if err := Gate(context.Background(), checks, time.Second, time.Millisecond, nil); err != nil {
		t.Errorf("a check that comes up: %v", err)
	}
	n = 0
	checks = append(checks, Check{"router", func() bool { return false }})
	var reports [][]string
	err := Gate(context.Background(), checks, 20*time.Millisecond, time.Millisecond, func(f []string) { reports = append(reports, f) })
	if err == nil || err.Error() != "router not up after 20ms" {
		t.Errorf("err = %v, want router not up after 20ms", err)
	}
	if diff := cmp.Diff([][]string{{"tunnel site1", "router"}, {"router"}}, reports); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

func TestSyslinux(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "syslinux"), 0o755)
	os.WriteFile(filepath.Join(dir, "syslinux", "syslinux.cfg"), []byte(SyslinuxConfig("a", map[string]string{"a": "console=ttyS0 quiet"})), 0o644)
	l := Syslinux{ESP: dir}
	if err := l.Trial("b"); err == nil {
		t.Error("a trial of a slot syslinux has no label for worked")
	}
	if err := l.WriteEntry("b", Manifest{Cmdline: "console=ttyS0"}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		do   func() error
		want string
	}{
		{func() error { return nil }, "a"},
		{func() error { return l.Trial("b") }, "b"},
		{func() error { return l.EndTrial("b") }, "a"},
		{func() error { return l.Commit("b") }, "b"},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		def, cmdlines, err := l.read()
		if err != nil || def != step.want {
			t.Errorf("DEFAULT %s (%v), want %s", def, err, step.want)
		}
		if diff := cmp.Diff(map[string]string{"a": "console=ttyS0 quiet", "b": "console=ttyS0"}, cmdlines); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
	}
}

func TestSystemdBoot(t *testing.T) {
	dir, vars := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(dir, "loader", "entries"), 0o755)
	l := SystemdBoot{ESP: dir, EFIVars: vars}
	if err := l.WriteEntry("b", Manifest{Version: "v2", Cmdline: "console=ttyS0"}); err != nil {
		t.Fatal(err)
	}
	entry, _ := os.ReadFile(filepath.Join(dir, "loader", "entries", "tunneler-b.conf"))
	if !strings.Contains(string(entry), "linux /b/vmlinuz\n") || !strings.Contains(string(entry), "options console=ttyS0 tunneler.slot=b\n") {
		t.Errorf("entry:\n%s", entry)
	}
	if err := l.Trial("b"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(vars, "LoaderEntryOneShot-"+loaderVendorGUID))
	if len(raw) < 6 || binary.LittleEndian.Uint32(raw) != 7 {
		t.Fatalf("EFI variable %x", raw)
	}
	u := make([]uint16, (len(raw)-4)/2)
	binary.Read(bytes.NewReader(raw[4:]), binary.LittleEndian, u)
	if got := string(utf16.Decode(u)); got != "tunneler-b.conf\x00" {
		t.Errorf("one-shot entry %q", got)
	}
	if err := l.Commit("b"); err != nil {
		t.Fatal(err)
	}
	conf, _ := os.ReadFile(filepath.Join(dir, "loader", "loader.conf"))
	if !strings.HasPrefix(string(conf), "default tunneler-b.conf\n") {
		t.Errorf("loader.conf:\n%s", conf)
	}
}
