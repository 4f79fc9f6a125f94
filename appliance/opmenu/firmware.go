package opmenu

import (
	"fmt"
	"time"

	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/update"
)

// Firmware is the box's firmware as the menu uses it (update.Firmware),
// the same surface as the web UI's Firmware page.
type Firmware interface {
	Status() update.Status
	BootInto(version string, window time.Duration) error
}

// firmware shows both slots and the last update, and offers to boot the
// other slot's firmware as a trial: after an update that is the way back
// by hand to the firmware before it (it must pass the same health gate).
func (b *Menu) firmware(s *console.Session) error {
	st := b.Firmware.Status()
	s.Printf("Running:  %s from slot %s\n", st.Running.Version, st.Running.Slot)
	if st.Other.Empty {
		s.Printf("Other:    slot %s is empty\n", st.Other.Slot)
	} else {
		s.Printf("Other:    %s in slot %s (built %s)\n", st.Other.Version, st.Other.Slot, st.Other.Built.UTC().Format(time.DateTime+" UTC"))
	}
	s.Printf("Boot:     %s\n", st.BootLoader)
	if st.Trial != nil {
		s.Printf("ON TRIAL: this firmware is kept only if its health gate passes within %s of %s\n", st.Trial.Window, st.Trial.Started.UTC().Format("15:04 UTC"))
	}
	if st.Last != nil {
		s.Printf("Last:     %s (%s)\n", st.Last, st.Last.Time.UTC().Format(time.DateTime+" UTC"))
	}
	if st.Other.Empty || !st.CanSwitch || st.Trial != nil {
		return nil
	}
	if !s.Confirm(fmt.Sprintf("Reboot into %s from slot %s now, as a trial? Tunnels and the router go down for the reboot; it is kept only if everything up now comes back within %s.", st.Other.Version, st.Other.Slot, update.DefaultWindow)) {
		s.Printf("Cancelled.\n")
		return nil
	}
	b.logf("trial reboot into firmware %s (slot %s) requested from the console", st.Other.Version, st.Other.Slot)
	if err := b.Firmware.BootInto(st.Other.Version, 0); err != nil {
		return fmt.Errorf("reboot into %s: %w", st.Other.Version, err)
	}
	s.Printf("Rebooting into %s as a trial.\n", st.Other.Version)
	return nil
}

// firmwareItem is the menu's Firmware entry; hidden where updates are
// unavailable.
func (b *Menu) firmwareItem() console.Item {
	return console.Item{Key: "21", Title: "Firmware: both slots, last update, boot the other slot",
		Shown: func() bool { return b.Firmware != nil }, Dialog: b.firmware}
}
