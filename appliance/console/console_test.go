package console

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		cmdline string
		want    []string
	}{
		{"console=tty0 console=ttyS0,115200n8 quiet", []string{"tty0", "ttyS0"}},
		{"quiet console=ttyS0 console=ttyS0,9600", []string{"ttyS0"}},
		{"quiet", nil},
	} {
		if d := cmp.Diff(tc.want, Names(tc.cmdline)); d != "" {
			t.Errorf("Names(%q) (-want +got)\n%s", tc.cmdline, d)
		}
	}
}

func TestMenu(t *testing.T) {
	var ran []string
	m := &Menu{Title: "Tunneler", Items: []Item{
		{Key: "1", Title: "Status", Run: func(w io.Writer) error { ran = append(ran, "status"); return nil }},
		{Key: "2", Title: "Reboot", Confirm: "Reboot now?", Run: func(w io.Writer) error { ran = append(ran, "reboot"); return nil }},
		{Key: "3", Title: "Hidden", Shown: func() bool { return false }, Run: func(w io.Writer) error { ran = append(ran, "hidden"); return nil }},
	}}
	var out bytes.Buffer
	in := strings.NewReader("\n1\n2\nno\n2\nyes\n3\n9\n")
	if err := m.Serve(in, &out); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"status", "reboot"}, ran); d != "" {
		t.Errorf("items run (-want +got)\n%s", d)
	}
	for _, want := range []string{"1) Status", "Cancelled.", `No menu entry "3"`, `No menu entry "9"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Hidden") {
		t.Errorf("hidden item shown:\n%s", out.String())
	}
}

func TestBannerSaysWhatToDo(t *testing.T) {
	b := Banner(BannerInfo{Version: "v1", Slot: "a", SetupMode: true, SetupCode: "123-456",
		Interfaces: []Interface{{Name: "eth0", Role: "wan", MAC: "52:54:00:12:34:56", Up: true, Addrs: []string{"192.0.2.10/24"}}},
		Perm:       "ok", KernelSecs: 1.5, InitSecs: 0.25, WebUIFingerprint: "AB:CD", Firmware: "slot b holds v2"})
	for _, want := range []string{"Tunneler v1", "eth0", " Firmware:   slot b holds v2\n", "192.0.2.10/24", "Setup code: 123-456", "boot: kernel 1.50s, init 0.25s to banner", "Web UI certificate SHA-256:\n   AB:CD\n"} {
		if !strings.Contains(b, want) {
			t.Errorf("banner lacks %q:\n%s", want, b)
		}
	}
}
