package power

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
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

func TestFindPowerButton(t *testing.T) {
	sysfs := t.TempDir()
	for ev, name := range map[string]string{"event0": "AT Translated Set 2 keyboard", "event1": "Power Button"} {
		d := filepath.Join(sysfs, "class", "input", ev, "device")
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "name"), []byte(name+"\n"), 0o644)
	}
	got, err := FindPowerButton(sysfs)
	if err != nil || got != "/dev/input/event1" {
		t.Fatalf("FindPowerButton = %q, %v", got, err)
	}
}
