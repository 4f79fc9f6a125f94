package remotelog

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{in: "logs.example.com", want: "udp://logs.example.com:514"},
		{in: "192.0.2.5:1514", want: "udp://192.0.2.5:1514"},
		{in: "udp://192.0.2.5", want: "udp://192.0.2.5:514"},
		{in: "TCP://logs.example.com:601", want: "tcp://logs.example.com:601"},
		{in: "2001:db8::1", want: "udp://[2001:db8::1]:514"},
		{in: "[2001:db8::1]:600", want: "udp://[2001:db8::1]:600"},
		{in: "tcp://[2001:db8::1]", want: "tcp://[2001:db8::1]:514"},
		{in: " 192.0.2.5 ", want: "udp://192.0.2.5:514"},
		{in: "https://logs.example.com", err: "scheme"},
		{in: "logs.example.com:0", err: "port"},
		{in: "logs.example.com:99999", err: "port"},
		{in: "logs.example.com:syslog", err: "port"},
		{in: "", err: "not host"},
		{in: "tcp://", err: "not host"},
		{in: "a b:514", err: "not host"},
	} {
		got, err := ParseTarget(c.in)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseTarget(%q) = %v, %v; want an error about %s", c.in, got, err, c.err)
		case c.err == "" && (err != nil || got.String() != c.want):
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	at := time.Date(2026, 11, 23, 4, 5, 6, 7000, time.UTC)
	for _, c := range []struct {
		m    Message
		host string
		want string
	}{
		{Message{Time: at, Severity: Info, App: "charon", Text: "09[IKE] IKE_SA site1[1] established\n"}, "branch 7",
			"<30>1 2026-11-23T04:05:06.000007Z branch7 charon - - - 09[IKE] IKE_SA site1[1] established"},
		{Message{Time: at, Severity: Warning, App: "tunneler", MsgID: "DOWN", SD: `[x@1 k="v"]`, Text: "two\nlines"}, "",
			"<28>1 2026-11-23T04:05:06.000007Z - tunneler - DOWN [x@1 k=\"v\"] two lines"},
	} {
		if got := Format(c.m, c.host); got != c.want {
			t.Errorf("Format\n got %q\nwant %q", got, c.want)
		}
	}
	long := Format(Message{Time: at, Severity: Info, Text: strings.Repeat("é", 3000)}, "h")
	if len(long) > maxMessage || !strings.HasPrefix(long, "<30>1 ") {
		t.Errorf("long message: %d bytes", len(long))
	}
}

func TestFromSlogText(t *testing.T) {
	now := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		line string
		sev  Severity
		text string
	}{
		{"time=04:00:00 level=INFO msg=\"web UI listening\" https=[192.168.77.1:443]\n", Info, "level=INFO msg=\"web UI listening\" https=[192.168.77.1:443]"},
		{"time=04:00:00 level=WARN msg=router: restarting", Warning, "level=WARN msg=router: restarting"},
		{"time=04:00:00 level=ERROR msg=x", Error, "level=ERROR msg=x"},
		{"time=04:00:00 level=DEBUG msg=x", Debug, "level=DEBUG msg=x"},
		{"a line of its own", Info, "a line of its own"},
	} {
		m := FromSlogText(c.line, now)
		if m.Severity != c.sev || m.Text != c.text || m.App != "tunneler" || !m.Time.Equal(now) {
			t.Errorf("FromSlogText(%q) = %+v; want severity %d, text %q", c.line, m, c.sev, c.text)
		}
	}
}

func TestRedact(t *testing.T) {
	secrets := []string{"Wv8sQ3nR6tYp2LzK9mXc4BdH7jFg", "$argon2id$v=19$m=65536"}
	got := Redact("psk Wv8sQ3nR6tYp2LzK9mXc4BdH7jFg and again Wv8sQ3nR6tYp2LzK9mXc4BdH7jFg; hash $argon2id$v=19$m=65536,t=3", secrets)
	if want := "psk (hidden) and again (hidden); hash (hidden),t=3"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

// recv reads datagrams until one contains want or the wait ends.
func recv(t *testing.T, pc net.PacketConn, want string) string {
	t.Helper()
	buf := make([]byte, 4096)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no datagram with %q: %v", want, err)
		}
		if s := string(buf[:n]); strings.Contains(s, want) {
			return s
		}
	}
}

// A forwarder over UDP loopback: lines arrive as RFC 5424 with the
// configured host name, secrets cut out; turned off, nothing more is sent.
func TestForwarderUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	f := NewForwarder()
	defer f.Close()
	const psk = "Wv8sQ3nR6tYp2LzK9mXc4BdH7jFg"
	if err := f.Configure(pc.LocalAddr().String(), "branch-7", []string{psk, "ab"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 4, 5, 6, 0, time.UTC)
	f.Send(Message{Time: at, Severity: Info, App: "charon", Text: "loaded secret " + psk + " ab"})
	got := recv(t, pc, "loaded secret")
	if want := "<30>1 2026-11-23T04:05:06.000000Z branch-7 charon - - - loaded secret (hidden) ab"; got != want {
		t.Errorf("datagram\n got %q\nwant %q", got, want)
	}
	st := f.Stats()
	for deadline := time.Now().Add(5 * time.Second); st.Sent == 0 && time.Now().Before(deadline); st = f.Stats() {
		time.Sleep(10 * time.Millisecond) // counted just after the write
	}
	if st.Sent != 1 || st.Dropped != 0 || st.Target != "udp://"+pc.LocalAddr().String() {
		t.Errorf("stats %+v", st)
	}
	f.Configure("", "branch-7", nil)
	f.Send(Message{Time: at, Text: "after off"})
	pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _, err := pc.ReadFrom(make([]byte, 4096)); err == nil {
		t.Errorf("forwarding off, still got %d bytes", n)
	}
}

// TCP frames each message with its length (RFC 6587 octet counting).
func TestForwarderTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			l, err := r.ReadString(' ')
			if err != nil {
				return
			}
			n, _ := strconv.Atoi(strings.TrimSpace(l))
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			got <- string(b)
		}
	}()
	f := NewForwarder()
	defer f.Close()
	if err := f.Configure("tcp://"+ln.Addr().String(), "box", nil); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 4, 5, 6, 0, time.UTC)
	f.Send(Message{Time: at, App: "tunneler", Severity: Warning, Text: "first"})
	f.Send(Message{Time: at, App: "tunneler", Severity: Info, Text: "second\nline"})
	for _, want := range []string{"<28>1 2026-11-23T04:05:06.000000Z box tunneler - - - first", "<30>1 2026-11-23T04:05:06.000000Z box tunneler - - - second line"} {
		select {
		case g := <-got:
			if g != want {
				t.Errorf("frame\n got %q\nwant %q", g, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no frame %q", want)
		}
	}
}

// A server that is not there, or one that accepts and never reads: Send
// returns at once every time, the queue bounds memory and the rest is
// counted as dropped.
func TestForwarderNeverBlocks(t *testing.T) {
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	go func() {
		for {
			c, err := stuck.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never read
		}
	}()
	gone, _ := net.Listen("tcp", "127.0.0.1:0")
	goneAddr := gone.Addr().String()
	gone.Close()
	for _, target := range []string{"tcp://" + stuck.Addr().String(), "tcp://" + goneAddr} {
		f := NewForwarder()
		if err := f.Configure(target, "box", nil); err != nil {
			t.Fatal(err)
		}
		const n = 20000
		line := strings.Repeat("x", 1000)
		finished := make(chan struct{})
		go func() {
			for i := 0; i < n; i++ {
				f.Send(Message{Time: time.Now(), Text: line})
			}
			close(finished)
		}()
		select {
		case <-finished:
		case <-time.After(time.Minute): // a blocking Send would wait on the 2 s write timeouts for hours
			t.Fatalf("%s: Send blocked", target)
		}
		st := f.Stats()
		if st.Dropped == 0 || st.Sent+st.Dropped > n {
			t.Errorf("%s: stats %+v after %d lines", target, st, n)
		}
		f.Close()
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"logs.example.com", "tcp://[2001:db8::1]:601", "udp://192.0.2.5", "x:", "https://a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tg.Network != "udp" && tg.Network != "tcp" {
			t.Fatalf("network %q", tg.Network)
		}
		if h, p, err := net.SplitHostPort(tg.Addr); err != nil || h == "" || p == "" {
			t.Fatalf("address %q: %v", tg.Addr, err)
		}
		if again, err := ParseTarget(tg.String()); err != nil || again != tg {
			t.Fatalf("%q -> %v does not parse back: %v %v", s, tg, again, err)
		}
	})
}
