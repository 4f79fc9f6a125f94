package watchdog

import (
	"testing"
	"time"
)

func TestHeartbeat(t *testing.T) {
	var hb Heartbeat
	if hb.Fresh(time.Hour) {
		t.Fatal("a heartbeat that never beat is fresh")
	}
	hb.Beat()
	if !hb.Fresh(time.Second) {
		t.Fatal("a heartbeat that just beat is stale")
	}
	time.Sleep(20 * time.Millisecond)
	if hb.Fresh(10 * time.Millisecond) {
		t.Fatal("a heartbeat 20ms old is fresh within 10ms")
	}
}
