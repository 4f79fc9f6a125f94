package diag

import (
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
)

func testConfig(t *testing.T) config.Config {
	t.Helper()
	c, err := config.Decode([]byte(`{"version":3,"tunnels":[
	 {"name":"site1","peer_address":"192.0.2.2","psk":"x","remote_networks":["10.9.0.0/24"]},
	 {"name":"rt","peer_address":"198.51.100.7","psk":"x","remote_networks":["10.20.0.0/16"],"mode":"route","if_id":7},
	 {"name":"named","peer_address":"vpn.example.com","psk":"x","remote_networks":["10.30.0.0/24"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPlan(t *testing.T) {
	c := testConfig(t)
	rn := &Runner{Config: func() config.Config { return c }, WAN: func() []string { return []string{"eth0"} }}
	for _, tc := range []struct {
		name  string
		req   Request
		want  string // "" plans; else the problems, field: message, joined
		check func(t *testing.T, j Job)
	}{
		{name: "ping", req: Request{Action: ActPing, Tunnel: "site1", Target: "10.9.0.2"}, check: func(t *testing.T, j Job) {
			p := j.(*Ping)
			if p.Source.String() != "100.64.0.1" || p.Count != DefaultPings || p.Target.String() != "10.9.0.2" {
				t.Errorf("ping %+v", p)
			}
		}},
		{name: "ping outside the tunnel", req: Request{Action: ActPing, Tunnel: "site1", Target: "10.20.0.1"},
			want: "target: 10.20.0.1 is not behind tunnel site1 (its remote networks: 10.9.0.0/24)"},
		{name: "ping no tunnel, bad count", req: Request{Action: ActPing, Target: "10.9.0.2", Count: 500},
			want: "tunnel: is missing: choose the tunnel to go through; count: is 500; use 1 to 20"},
		{name: "ping unknown tunnel", req: Request{Action: ActPing, Tunnel: "nope", Target: "x"},
			want: `tunnel: "nope" is not a tunnel of this box; target: "x" is not an IP address`},
		{name: "ping IPv6", req: Request{Action: ActPing, Tunnel: "site1", Target: "2001:db8::1"},
			want: "target: 2001:db8::1 is not behind tunnel site1 (its remote networks: 10.9.0.0/24); target: 2001:db8::1: only IPv4 hosts can be probed from the inside address"},
		{name: "traceroute", req: Request{Action: ActTraceroute, Tunnel: "rt", Target: "10.20.3.4", Count: 5}, check: func(t *testing.T, j Job) {
			if tr := j.(*Traceroute); tr.MaxHops != 5 {
				t.Errorf("hops %d", tr.MaxHops)
			}
		}},
		{name: "traceroute too far", req: Request{Action: ActTraceroute, Tunnel: "rt", Target: "10.20.3.4", Count: 31},
			want: "count: is 31; use 1 to 30"},
		{name: "tcp", req: Request{Action: ActTCP, Tunnel: "site1", Target: "10.9.0.2", Port: 443}, check: func(t *testing.T, j Job) {
			if tc := j.(*TCPConnect); tc.Target.String() != "10.9.0.2:443" {
				t.Errorf("tcp %v", tc.Target)
			}
		}},
		{name: "tcp no port", req: Request{Action: ActTCP, Tunnel: "site1", Target: "10.9.0.2"},
			want: "port: is 0; give a TCP port from 1 to 65535"},
		{name: "dns", req: Request{Action: ActDNS, Name: "web.ziti.example", Type: "aaaa"}, check: func(t *testing.T, j Job) {
			if l := j.(*Lookup); l.Server.String() != "100.64.0.1:53" || l.Type != "AAAA" {
				t.Errorf("lookup %+v", l)
			}
		}},
		{name: "dns bad", req: Request{Action: ActDNS, Name: "a b;rm", Type: "MX"},
			want: `name: "a b;rm" is not a host name; type: "MX": choose A or AAAA`},
		{name: "capture wan", req: Request{Action: ActCapture, Tunnel: "site1", Preset: PresetWAN}, check: func(t *testing.T, j Job) {
			cp := j.(*Capture)
			if cp.Interface != "eth0" || cp.MaxBytes != DefaultCaptureKB<<10 || len(cp.Filter) == 0 || cp.InboundOnly {
				t.Errorf("capture %+v", cp)
			}
		}},
		{name: "capture inside, policy mode", req: Request{Action: ActCapture, Tunnel: "site1", Preset: PresetInside, Seconds: 5, MaxKB: 64}, check: func(t *testing.T, j Job) {
			if cp := j.(*Capture); cp.Interface != "eth0" || !cp.InboundOnly || cp.Duration.Seconds() != 5 {
				t.Errorf("capture %+v", cp)
			}
		}},
		{name: "capture inside, route mode", req: Request{Action: ActCapture, Tunnel: "rt", Preset: PresetInside}, check: func(t *testing.T, j Job) {
			if cp := j.(*Capture); cp.Interface != "xfrm7" || cp.InboundOnly {
				t.Errorf("capture %+v", cp)
			}
		}},
		{name: "capture wan, peer by name", req: Request{Action: ActCapture, Tunnel: "named", Preset: PresetWAN},
			want: `preset: the WAN preset filters on the peer's IP address; tunnel named's peer is the name "vpn.example.com"`},
		{name: "capture bounds", req: Request{Action: ActCapture, Tunnel: "site1", Preset: "all", Seconds: 3600, MaxKB: 1 << 30},
			want: "seconds: is 3600; a capture runs 1 to 300 seconds; max_kb: is 1073741824; a capture holds 16 to 16384 KiB (it is kept in RAM); preset: \"all\": choose wan or inside"},
		{name: "capture without a tunnel", req: Request{Action: ActCapture, Preset: PresetInside},
			want: "tunnel: is missing: choose the tunnel to go through"},
		{name: "unknown action", req: Request{Action: "shell"}, want: `action: "shell": choose one of ping, tcp, traceroute, dns, capture`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, ps := rn.Plan(tc.req)
			if got := ps.Error(); got != tc.want {
				t.Fatalf("problems\n got %s\nwant %s", got, tc.want)
			}
			if tc.want == "" && (j == nil || tc.check == nil) {
				t.Fatalf("job %v", j)
			}
			if tc.check != nil {
				tc.check(t, j)
			}
		})
	}
	// No WAN interface known: a capture there says so.
	rn.WAN = nil
	if _, ps := rn.Plan(Request{Action: ActCapture, Tunnel: "site1", Preset: PresetWAN}); !strings.Contains(ps.Error(), "no WAN interface") {
		t.Errorf("capture without a WAN: %v", ps)
	}
}
