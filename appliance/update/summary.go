package update

import (
	"fmt"
	"strings"
	"time"
)

// Line is the firmware in one line for the console banner: what the
// other slot holds and how the last update ended. The running version
// and slot are on the banner's first line already.
func (s Status) Line() string {
	other := fmt.Sprintf("slot %s empty", s.Other.Slot)
	if !s.Other.Empty {
		other = fmt.Sprintf("slot %s holds %s", s.Other.Slot, s.Other.Version)
	}
	parts := []string{other}
	if s.Trial != nil {
		parts = append(parts, fmt.Sprintf("ON TRIAL since %s: kept only if its health gate passes within %s", s.Trial.Started.UTC().Format("15:04 UTC"), s.Trial.Window))
	}
	if s.Last != nil {
		parts = append(parts, fmt.Sprintf("last: %s (%s)", s.Last, s.Last.Time.UTC().Format(time.DateTime+" UTC")))
	}
	return strings.Join(parts, "; ")
}
