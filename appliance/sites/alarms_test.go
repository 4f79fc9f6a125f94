package sites

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
)

// Alarms go to the config's remote syslog server, and stop going there
// when the setting is removed; the local log gets every change too.
func TestAlarmsFollowRemoteSyslog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	b := newBox(boxOpts{})
	cfg := configWith(nil)
	cfg.System.RemoteSyslog = pc.LocalAddr().String()
	cfg.System.Hostname = "edge1"
	b.m.Start(cfg)

	b.m.Alarms().Raise(time.Now(), alarm.SiteKey("hq"), alarm.Error, "no remote is healthy")
	got := read(t, pc)
	if !strings.Contains(got, "edge1") || !strings.Contains(got, "no remote is healthy") {
		t.Errorf("syslog message %q", got)
	}

	cfg.System.RemoteSyslog = ""
	b.m.Apply(cfg)
	time.Sleep(100 * time.Millisecond) // the old listener stops on its own goroutine
	b.m.Alarms().Clear(time.Now(), alarm.SiteKey("hq"), "remote 1 healthy")
	pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _, err := pc.ReadFrom(make([]byte, 2048)); err == nil {
		t.Errorf("alarm sent after remote syslog was turned off (%d bytes)", n)
	}
	for _, want := range []string{"ALARM site:hq raised: no remote is healthy", "ALARM site:hq cleared: remote 1 healthy"} {
		waitLog(t, b, want)
	}
}

func read(t *testing.T, pc net.PacketConn) string {
	t.Helper()
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no syslog message: %v", err)
	}
	return string(buf[:n])
}

func waitLog(t *testing.T, b *box, want string) {
	t.Helper()
	for range 500 {
		b.logMu.Lock()
		s := b.log.String()
		b.logMu.Unlock()
		if strings.Contains(s, want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("log lacks %q", want)
}
