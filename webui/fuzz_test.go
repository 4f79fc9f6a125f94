package webui

import (
	"bytes"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/diag"
	"github.com/tunneler/tunneler/appliance/remotelog"
)

// Fuzz targets for every form decoder. Run each with e.g.
//
//	go test ./webui -run '^$' -fuzz '^FuzzDecodeTunnelForm$' -fuzztime 20s
//
// Decoders must never panic, and what they produce must survive Validate
// (which reports problems; it must not crash on anything a form can hold).

func FuzzDecodeTunnelForm(f *testing.F) {
	f.Add("name=site1&peer_address=203.0.113.10&psk=Vq7-Rt2kLm9xPz4Wc8NbJ5sYh3&remote_networks=10.0.0.0%2F24%0A10.1.0.0%2F24&preset=fortigate")
	f.Add("remote_networks=%2C%2C%0D%0A&psk=&mode=route&ike_version=ikev1&ike_proposals=aes256-sha1-modp1024")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		tf := decodeTunnelForm(v)
		if (v.Get("psk") == "") != tf.KeepPSK {
			t.Fatalf("KeepPSK %v for psk %q", tf.KeepPSK, v.Get("psk"))
		}
		c := config.Config{Version: config.CurrentVersion, Tunnels: []config.Tunnel{tf.Tunnel}}
		for _, e := range c.Validate() {
			if v.Get("psk") != "" && len(v.Get("psk")) >= 4 && strings.Contains(e.Message, v.Get("psk")) {
				t.Fatalf("validation message echoes the PSK: %s", e.Message)
			}
		}
	})
}

func FuzzDecodeInterfacesForm(f *testing.F) {
	f.Add("wan_mode=static&wan_address=192.0.2.10%2F24&wan_gateway=192.0.2.1&wan_dns=1.1.1.1&lan_mode=dhcp")
	f.Add("wan_mode=bogus&lan_mode=static&lan_address=::1/200")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		ifs := decodeInterfacesForm(v, []config.Interface{{Role: config.RoleLAN, MAC: "52:54:00:12:34:56"}})
		if len(ifs) != 2 || ifs[0].MAC != "52:54:00:12:34:56" {
			t.Fatalf("interfaces %+v: lost the LAN's MAC or the WAN", ifs)
		}
		c := config.Config{Version: config.CurrentVersion, Interfaces: ifs}
		mapErrors(&page{}, c.Validate(), interfacePrefixes(ifs), interfaceFields)
	})
}

func FuzzDecodeSystemForm(f *testing.F) {
	f.Add("hostname=box&timezone=Europe%2FBerlin&ntp_servers=pool.ntp.org%0A192.0.2.1&remote_syslog=192.0.2.5:514")
	f.Add("remote_syslog=tcp%3A%2F%2Flogs.example.com%3A601")
	f.Add("remote_syslog=udp%3A%2F%2F%5B2001%3Adb8%3A%3A1%5D")
	f.Add("remote_syslog=logs.example.com%3A")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		s := decodeSystemForm(v, config.System{})
		c := config.Config{Version: config.CurrentVersion, System: s}
		// What Validate lets through, init's forwarder must take: a target
		// saved but never used would be a silent loss of logs.
		if s.RemoteSyslog != "" && len(only(c.Validate(), "system.remote_syslog")) == 0 {
			if _, err := remotelog.ParseTarget(s.RemoteSyslog); err != nil {
				t.Fatalf("remote syslog %q passes Validate but not the forwarder: %v", s.RemoteSyslog, err)
			}
		}
	})
}

func FuzzDecodeRouterForm(f *testing.F) {
	f.Add("jwt=eyJhbGciOiJSUzI1NiJ9.eyJlbSI6ImVyb3R0In0.c2ln")
	f.Add("jwt=%22eyJh%0A.b+.c%22&skip=")
	f.Add("skip=1&jwt=eyJx.y.z")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		rf := decodeRouterForm(v)
		if rf.Skip && len(rf.JWT) > 0 {
			t.Fatalf("skip with a token %q", rf.JWT)
		}
		if len(rf.JWT) > maxTokenBytes || bytes.ContainsAny(rf.JWT, " \t\r\n") {
			t.Fatalf("token not normalised: %q", rf.JWT)
		}
	})
}

func FuzzDecodeLoginForm(f *testing.F) {
	f.Add("password=correct+horse&next=%2Ftunnels")
	f.Add("next=%2F%2Fevil.example")
	f.Add("next=%2F%09%2Fevil.example")
	f.Add("next=%2F%5Cevil.example")
	f.Add("next=https%3A%2F%2Fevil.example")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		lf := decodeLoginForm(v)
		if lf.Password != v.Get("password") {
			t.Fatalf("password changed")
		}
		// As a browser reads the Location: tabs and line breaks dropped,
		// backslashes as slashes. It must stay on this box.
		loc := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(lf.Next)
		u, err := url.Parse(loc)
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("next %q leaves the box", lf.Next)
		}
	})
}

func FuzzDecodeChartsQuery(f *testing.F) {
	f.Add("window=24h&tunnel=site1")
	f.Add("window=7d")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		win, d, _ := decodeChartsQuery(v)
		if chartWindows[win] != d || d <= 0 {
			t.Fatalf("window %q %v", win, d)
		}
	})
}

func FuzzDecodePasswordForm(f *testing.F) {
	f.Add("current=a&password=correct+horse&confirm=correct+horse")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		p := decodePasswordForm(v)
		errs := p.problems()
		if len(errs) == 0 && (p.New != p.Confirm || len([]rune(p.New)) < 8) {
			t.Fatalf("accepted %q/%q", p.New, p.Confirm)
		}
		// Messages are fixed texts and lengths: never the password itself.
		for _, m := range errs {
			if !strings.HasPrefix(m, "is ") && !strings.HasPrefix(m, "does not match") {
				t.Fatalf("unexpected message %q", m)
			}
			if strings.ContainsAny(strings.TrimPrefix(m, "is "), "\"'<>") {
				t.Fatalf("message %q quotes input", m)
			}
		}
	})
}

func FuzzDecodeSetupCode(f *testing.F) {
	f.Add("code=abcd-2345")
	f.Add("code=%00%ff")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		c := decodeSetupCode(v)
		if len(c) > 64 || strings.ToUpper(c) != c || strings.ContainsAny(c, " -") {
			t.Fatalf("code %q not normalised", c)
		}
	})
}

func FuzzDecodeLogQuery(f *testing.F) {
	f.Add("kind=charon&kind=router&window=6h&limit=10")
	f.Add("since=2026-01-01T00:00:00Z&until=bogus&window=nope&limit=-5")
	now := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		lq, win := decodeLogQuery(v, now)
		if lq.Limit <= 0 || lq.Limit > 5000 || len(lq.Kinds) > len(logKinds) {
			t.Fatalf("query %+v", lq)
		}
		ok := false
		for _, w := range logWindows {
			ok = ok || w.Value == win
		}
		if !ok {
			t.Fatalf("window %q", win)
		}
	})
}

func FuzzDecodeRestore(f *testing.F) {
	f.Add([]byte(`{"version":2,"tunnels":[{"name":"a","peer_address":"203.0.113.1","psk":"(hidden)","remote_networks":["10.0.0.0/24"]}]}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeRestore(bytes.NewReader(b))
		if err != nil {
			return
		}
		c.Validate()
	})
}

func FuzzDecodeDiagForm(f *testing.F) {
	f.Add("ping", "tunnel=site1&target=10.20.0.5&count=4")
	f.Add("capture", "tunnel=site1&preset=inside&seconds=99999999999999999999&max_kb=-3")
	f.Add("dns", "name=a..b&type=aaaa")
	f.Add("tcp", "tunnel=site1&target=10.20.0.5%25eth0&port=0x50")
	c, _ := config.Decode([]byte(`{"version":3,"tunnels":[{"name":"site1","peer_address":"192.0.2.2","psk":"x","remote_networks":["10.20.0.0/24"]}]}`))
	rn := &diag.Runner{Config: func() config.Config { return c }, WAN: func() []string { return []string{"eth0"} }}
	f.Fuzz(func(t *testing.T, action, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		r := decodeDiagForm(action, v)
		if r.Count < -1 || r.Port < -1 || r.Seconds < -1 || r.MaxKB < -1 {
			t.Fatalf("numbers not normalised: %+v", r)
		}
		// What the planner accepts stays within the bounds and behind the
		// tunnel; what it refuses, it says why, by field.
		job, ps := rn.Plan(r)
		if (job == nil) == (len(ps) == 0) {
			t.Fatalf("plan %+v: job %v and problems %v", r, job, ps)
		}
		for _, p := range ps {
			if p.Field == "" || p.Message == "" || len(p.Message) > 400 {
				t.Fatalf("problem %+v", p)
			}
		}
		switch j := job.(type) {
		case *diag.Ping:
			if j.Count < 1 || j.Count > diag.MaxPings || !netip.MustParsePrefix("10.20.0.0/24").Contains(j.Target) {
				t.Fatalf("ping %+v", j)
			}
		case *diag.Capture:
			if j.MaxBytes > diag.MaxCaptureKB<<10 || j.Duration.Seconds() > diag.MaxCaptureSeconds || len(j.Filter) == 0 {
				t.Fatalf("capture %+v", j)
			}
		}
	})
}
