package main

import (
	"github.com/tunneler/tunneler/appliance/perm"
	"github.com/tunneler/tunneler/appliance/slot"
)

// mountSlot mounts the ESP read-only at /boot and the running slot's
// extras (charon, the router) at /usr. Without them the box still boots,
// shows its console and web UI, and says what is missing.
func (b *pid1) mountSlot() {
	esp, err := perm.Find("/sys", perm.ESPName)
	if err != nil {
		b.problem("boot slot: no EFI system partition: charon and the router are not available")
		return
	}
	if err := slot.MountESP(esp.Device, "/boot"); err != nil {
		b.problem("boot slot: %v", err)
		return
	}
	name := slot.Name(b.cmdline.Value("tunneler.slot", ""))
	if err := slot.MountExtras("/boot", name, "/usr"); err != nil {
		b.problem("boot slot %s: %v: charon and the router are not available", name, err)
		return
	}
	b.log.Info("boot slot mounted", "slot", name, "esp", esp.Device)
}
