package opmenu

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/update"
)

type fakeFirmware struct {
	st     update.Status
	booted []string
}

func (f *fakeFirmware) Status() update.Status { return f.st }
func (f *fakeFirmware) BootInto(v string, w time.Duration) error {
	f.booted = append(f.booted, v)
	return nil
}

func TestFirmwareEntry(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	committed := update.Status{Running: update.SlotInfo{Slot: "b", Version: "v2"}, Other: update.SlotInfo{Slot: "a", Version: "v1", Built: at},
		BootLoader: "systemd-boot", CanSwitch: true, Last: &update.Event{Time: at, Version: "v2", Slot: "b", Outcome: "committed"}}
	for _, tc := range []struct {
		name   string
		st     update.Status
		typed  string
		booted []string
		want   []string
	}{
		{"roll back by hand", committed, "yes\n", []string{"v1"}, []string{"Running:  v2 from slot b", "Other:    v1 in slot a",
			"Last:     update to v2 committed (2026-12-05 09:00:00 UTC)", "Reboot into v1 from slot a now, as a trial?", "Rebooting into v1 as a trial."}},
		{"cancelled", committed, "no\n", nil, []string{"Cancelled."}},
		{"empty other slot", update.Status{Running: update.SlotInfo{Slot: "a", Version: "v1"}, Other: update.SlotInfo{Slot: "b", Empty: true}, CanSwitch: true},
			"", nil, []string{"Other:    slot b is empty"}},
		{"on trial", update.Status{Running: update.SlotInfo{Slot: "b", Version: "v2"}, Other: update.SlotInfo{Slot: "a", Version: "v1"}, CanSwitch: true,
			Trial: &update.Trial{Started: at, Window: "10m0s"}}, "", nil, []string{"ON TRIAL: this firmware is kept only if its health gate passes within 10m0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFirmware{st: tc.st}
			b := &Menu{Firmware: f}
			m := &console.Menu{Title: "T", Items: b.Items()}
			var out bytes.Buffer
			if err := m.Serve(strings.NewReader("21\n"+tc.typed), &out); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("console lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Join(f.booted, ",") != strings.Join(tc.booted, ",") {
				t.Errorf("booted %q, want %q", f.booted, tc.booted)
			}
		})
	}
	if items := (&Menu{}).Items(); hasKey(items, "21") {
		t.Error("the Firmware entry is offered without firmware updates")
	}
}

func hasKey(items []console.Item, key string) bool {
	for _, it := range items {
		if it.Key == key && (it.Shown == nil || it.Shown()) {
			return true
		}
	}
	return false
}
