package systest

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

// syslogRE is an RFC 5424 message as the box sends it: facility daemon,
// the host name from Settings, the app that logged.
var syslogRE = regexp.MustCompile(`^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z branch-7 (tunneler|charon|ziti-router) - - - (.*)$`)

// TestRemoteSyslogForwarding: after setup with a tunnel up, the JSON API
// sets a remote syslog server on the LAN host; the box's own lines and
// charon's (a reconnect makes some) arrive there over UDP as RFC 5424,
// and none carries the PSK.
func TestRemoteSyslogForwarding(t *testing.T) {
	requireTools(t)
	w := newWebLab(t)
	w.waitWebUI(t)
	csrf := w.apiSetup(t)
	w.post(t, csrf, "/api/setup/review", nil)
	w.waitApplied(t)

	var pc net.PacketConn
	if err := w.lan.Do(func() (err error) {
		pc, err = net.ListenPacket("udp", "192.168.77.2:5514")
		return err
	}); err != nil {
		t.Fatalf("listen on the LAN host: %v", err)
	}
	defer pc.Close()
	got := make(chan string, 1024)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()

	csrf = w.login(t)
	// A bad target first: refused next to the field, nothing saved.
	if st, ans := w.postIfMatch(t, csrf, w.etag(t), "/api/settings/system", url.Values{"hostname": {"branch-7"}, "remote_syslog": {"https://192.168.77.2"}}); st != 422 {
		t.Errorf("a bad syslog target: %d %v, want 422", st, ans)
	}
	w.change(t, csrf, "/api/settings/system", url.Values{"hostname": {"branch-7"}, "remote_syslog": {"192.168.77.2:5514"}})

	var all []string
	seen := map[string]bool{}
	reconnected := false
	deadline := time.After(3 * time.Minute)
	for !seen["tunneler"] || !seen["charon"] {
		select {
		case m, ok := <-got:
			if !ok {
				t.Fatal("syslog socket closed")
			}
			all = append(all, m)
			sm := syslogRE.FindStringSubmatch(m)
			if sm == nil {
				t.Errorf("not an RFC 5424 message from branch-7: %q", m)
				continue
			}
			seen[sm[2]] = true
			if sm[2] == "tunneler" && !reconnected {
				// Forwarding is on: make charon talk.
				reconnected = true
				w.post(t, csrf, "/api/tunnels/site1/reconnect", url.Values{"confirm": {"yes"}})
			}
		case <-deadline:
			t.Fatalf("after 3 minutes seen %v of tunneler and charon; %d messages:\n%s\nconsole:\n%s",
				seen, len(all), strings.Join(all, "\n"), w.vm.Console.Tail(30))
		}
	}
	// A little more, for the PSK check and the artifact.
	for end := time.After(5 * time.Second); ; {
		select {
		case m, ok := <-got:
			if ok {
				all = append(all, m)
				continue
			}
		case <-end:
		}
		break
	}
	os.WriteFile(filepath.Join(vmtest.ArtifactDir(t), "syslog.txt"), []byte(strings.Join(all, "\n")+"\n"), 0o644)
	t.Logf("%d messages; first: %s", len(all), all[0])
	for _, m := range all {
		if strings.Contains(m, webPSK) {
			t.Errorf("forwarded line carries the PSK: %q", m)
		}
	}
}
