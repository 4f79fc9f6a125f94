package update

import (
	"testing"
	"time"
)

func TestStatusLine(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		st   Status
		want string
	}{
		{"fresh box", Status{Other: SlotInfo{Slot: "b", Empty: true}}, "slot b empty"},
		{"after a rollback", Status{Other: SlotInfo{Slot: "b", Version: "v2"},
			Last: &Event{Time: at, Version: "v2", Slot: "b", Outcome: "rolled back", Detail: "tunnel site1 not up after 10m0s"}},
			"slot b holds v2; last: update to v2 rolled back: tunnel site1 not up after 10m0s (2026-12-05 09:00:00 UTC)"},
		{"on trial", Status{Other: SlotInfo{Slot: "a", Version: "v1"}, Trial: &Trial{Started: at, Window: "10m0s"}},
			"slot a holds v1; ON TRIAL since 09:00 UTC: kept only if its health gate passes within 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.st.Line(); got != tc.want {
				t.Errorf("Line() =\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}
