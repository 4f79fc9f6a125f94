package power

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func event(typ, code uint16, val int32) []byte {
	b := make([]byte, inputEventSize)
	binary.LittleEndian.PutUint16(b[16:], typ)
	binary.LittleEndian.PutUint16(b[18:], code)
	binary.LittleEndian.PutUint32(b[20:], uint32(val))
	return b
}

func TestPowerKeyDownAsksForPowerOff(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(event(0, 0, 0))            // EV_SYN
	stream.Write(event(evKey, 30, 1))       // KEY_A: ignored
	stream.Write(event(evKey, keyPower, 0)) // key up: ignored
	stream.Write(event(evKey, keyPower, 1)) // key down
	r := &Requests{C: make(chan Request, 4)}
	if err := r.watchKeys(&stream); err == nil {
		t.Fatal("watchKeys returned nil at end of stream")
	}
	select {
	case req := <-r.C:
		if req.Action != PowerOff || req.Reason != "power button" {
			t.Errorf("got %+v, want power off by power button", req)
		}
	case <-time.After(time.Second):
		t.Fatal("no request for a power-key press")
	}
	if len(r.C) != 0 {
		t.Errorf("%d extra requests for ignored events", len(r.C))
	}
}

func TestFindPowerButtons(t *testing.T) {
	// Bitmaps as sysfs prints them; KEY_POWER is 116: bit 52 of word 1.
	const (
		powerOnly = "10000000000000 0"                                            // ACPI "Power Button"
		keyboard  = "402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe" // AT keyboard, has KEY_POWER
		noPower   = "0 0 ffefffdfffefffff fffffffffffffffe"                       // keyboard without it
		sleepBtn  = "4000 0 0"                                                    // KEY_SLEEP only
	)
	for _, tc := range []struct {
		name    string
		devices map[string][2]string // event -> name, key bitmap
		want    []string
	}{
		{"pc: fixed ACPI button and keyboard", map[string][2]string{
			"event0": {"Power Button", powerOnly},
			"event1": {"AT Translated Set 2 keyboard", keyboard},
		}, []string{"/dev/input/event0", "/dev/input/event1"}},
		{"a power button under another name", map[string][2]string{
			"event0": {"Sleep Button", sleepBtn},
			"event2": {"PNP0C0C:00 power switch", powerOnly},
			"event3": {"USB keyboard", noPower},
		}, []string{"/dev/input/event2"}},
		{"named Power Button without capabilities", map[string][2]string{
			"event4": {"Power Button", ""},
		}, []string{"/dev/input/event4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sysfs := t.TempDir()
			for ev, d := range tc.devices {
				dir := filepath.Join(sysfs, "class", "input", ev, "device")
				os.MkdirAll(filepath.Join(dir, "capabilities"), 0o755)
				os.WriteFile(filepath.Join(dir, "name"), []byte(d[0]+"\n"), 0o644)
				if d[1] != "" {
					os.WriteFile(filepath.Join(dir, "capabilities", "key"), []byte(d[1]+"\n"), 0o644)
				}
			}
			got, err := FindPowerButtons(sysfs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FindPowerButtons (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := FindPowerButtons(t.TempDir()); err == nil {
		t.Error("no input devices: no error")
	}
}
