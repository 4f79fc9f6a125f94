package ziti

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/config"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func defaultSettings() Settings {
	return Settings{
		Router:      config.Router{IdentityPath: config.DefaultIdentityPath, InterceptRange: config.PrefixFrom(config.DefaultInterceptRange), InsideAddress: config.AddrFrom(config.DefaultInsideAddress)},
		Controllers: []string{"tls:ctrl.example.net:1280"},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

// routerYAML is the part of the router's config the box cares about, as
// the router reads it.
type routerYAML struct {
	V        int `yaml:"v"`
	Identity struct {
		Cert       string `yaml:"cert"`
		ServerCert string `yaml:"server_cert"`
		Key        string `yaml:"key"`
		CA         string `yaml:"ca"`
	} `yaml:"identity"`
	Ctrl struct {
		Endpoints     []string `yaml:"endpoints"`
		EndpointsFile string   `yaml:"endpointsFile"`
	} `yaml:"ctrl"`
	Link struct {
		Dialers   []map[string]string `yaml:"dialers"`
		Listeners []map[string]string `yaml:"listeners"`
	} `yaml:"link"`
	Listeners []struct {
		Binding string            `yaml:"binding"`
		Address string            `yaml:"address"`
		Options map[string]string `yaml:"options"`
	} `yaml:"listeners"`
	Edge struct {
		DB  string `yaml:"db"`
		CSR struct {
			Sans map[string][]string `yaml:"sans"`
		} `yaml:"csr"`
	} `yaml:"edge"`
	HealthChecks map[string]map[string]string `yaml:"healthChecks"`
	Web          []struct {
		Name       string              `yaml:"name"`
		BindPoints []map[string]string `yaml:"bindPoints"`
		APIs       []map[string]string `yaml:"apis"`
	} `yaml:"web"`
}

func parseRendered(t *testing.T, b []byte) routerYAML {
	t.Helper()
	var y routerYAML
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil {
		t.Fatalf("rendered config does not parse: %v\n%s", err, b)
	}
	return y
}

func TestRenderDefault(t *testing.T) {
	b, err := Render(defaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "router-default.yml", b)

	y := parseRendered(t, b)
	if y.V != 3 {
		t.Errorf("v = %d, want 3", y.V)
	}
	id := y.Identity
	for _, p := range []string{id.Cert, id.ServerCert, id.Key, id.CA, y.Ctrl.EndpointsFile, y.Edge.DB} {
		if !strings.HasPrefix(p, "/perm/ziti/identity/") {
			t.Errorf("%q is not in the identity directory on /perm", p)
		}
	}
	if d := cmp.Diff([]string{"tls:ctrl.example.net:1280"}, y.Ctrl.Endpoints); d != "" {
		t.Errorf("ctrl endpoints (-want +got):\n%s", d)
	}
	if len(y.Link.Listeners) != 0 {
		t.Errorf("link listeners by default: %v; the box must dial out only", y.Link.Listeners)
	}
	if len(y.Link.Dialers) != 1 || y.Link.Dialers[0]["binding"] != "transport" {
		t.Errorf("link dialers = %v", y.Link.Dialers)
	}
	bind := map[string]int{}
	for i, l := range y.Listeners {
		bind[l.Binding] = i
	}
	edge := y.Listeners[bind["edge"]]
	if edge.Binding != "edge" || edge.Address != "tls:127.0.0.1:3022" || edge.Options["advertise"] != "127.0.0.1:3022" {
		t.Errorf("edge listener = %+v, want it on loopback", edge)
	}
	tun := y.Listeners[bind["tunnel"]]
	want := map[string]string{
		"mode":          "tproxy:/bin/tunneler-diverter",
		"resolver":      "udp://100.64.0.1:53",
		"dnsSvcIpRange": "100.64.0.1/10",
	}
	if d := cmp.Diff(want, tun.Options); tun.Binding != "tunnel" || d != "" {
		t.Errorf("tunnel binding %q options (-want +got):\n%s", tun.Binding, d)
	}
	if len(y.Web) != 1 || y.Web[0].BindPoints[0]["interface"] != "127.0.0.1:8081" || y.Web[0].APIs[0]["binding"] != "health-checks" {
		t.Errorf("web = %+v, want health-checks on loopback", y.Web)
	}
	if y.HealthChecks["ctrlPingCheck"]["interval"] == "" {
		t.Errorf("no ctrlPingCheck interval: %v", y.HealthChecks)
	}
}

func TestRenderCustom(t *testing.T) {
	s := defaultSettings()
	s.Router = config.Router{
		IdentityPath:   "/perm/router/r.yml",
		InterceptRange: config.MustPrefix("10.250.0.0/16"),
		InsideAddress:  config.MustAddr("10.250.0.1"),
		LinkListener:   true,
	}
	s.Controllers = []string{"tls:ctrl1.example.net:1280", "ctrl2.example.net:1280"}
	s.LinkAdvertise = "router.example.net:10080"
	s.Diverter = "/tmp/x/tunneler-diverter"
	s.EdgeListen = netipAP("127.0.0.1:13022")
	s.HealthListen = netipAP("127.0.0.1:18081")
	b, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "router-custom.yml", b)
	y := parseRendered(t, b)
	if y.Identity.Key != "/perm/router/identity/key.pem" {
		t.Errorf("key = %q", y.Identity.Key)
	}
	if d := cmp.Diff([]string{"tls:ctrl1.example.net:1280", "tls:ctrl2.example.net:1280"}, y.Ctrl.Endpoints); d != "" {
		t.Errorf("ctrl endpoints (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]map[string]string{{"binding": "transport", "bind": "tls:0.0.0.0:10080", "advertise": "tls:router.example.net:10080"}}, y.Link.Listeners); d != "" {
		t.Errorf("link listeners (-want +got):\n%s", d)
	}
	for _, l := range y.Listeners {
		if l.Binding == "tunnel" && (l.Options["dnsSvcIpRange"] != "10.250.0.1/16" || l.Options["resolver"] != "udp://10.250.0.1:53") {
			t.Errorf("tunnel options = %v", l.Options)
		}
	}
}

// A WAN address in 100.64.0.0/10 (carrier-grade NAT) is why the range
// is configurable: the rendered range follows the setting, and the inside
// address need not be the range's first address.
func TestRenderRangeFollowsSetting(t *testing.T) {
	s := defaultSettings()
	s.Router.InterceptRange = config.MustPrefix("198.18.0.0/15")
	s.Router.InsideAddress = config.MustAddr("198.18.0.53")
	b, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `dnsSvcIpRange: "198.18.0.53/15"`) || !strings.Contains(string(b), `resolver: "udp://198.18.0.53:53"`) {
		t.Errorf("range not taken from the setting:\n%s", b)
	}
	if strings.Contains(string(b), "100.64.") {
		t.Errorf("default range still in the config:\n%s", b)
	}
}

func TestRenderRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Settings)
		msg  string
	}{
		{"no controller", func(s *Settings) { s.Controllers = nil }, "no controller endpoint"},
		{"bad controller", func(s *Settings) { s.Controllers = []string{"https://x:1"} }, "want tls:host:port"},
		{"inside outside range", func(s *Settings) { s.Router.InsideAddress = config.MustAddr("10.0.0.1") }, "outside the intercept range"},
		{"ipv6 range", func(s *Settings) {
			s.Router.InterceptRange = config.MustPrefix("fd00::/64")
			s.Router.InsideAddress = config.MustAddr("fd00::1")
		}, "want an IPv4 prefix"},
		{"bad range", func(s *Settings) { s.Router.InterceptRange = config.ParsePrefix("nope") }, "want an IPv4 prefix"},
		{"link listener without address", func(s *Settings) { s.Router.LinkListener = true }, "needs the host:port"},
		{"quote in path", func(s *Settings) { s.Diverter = "/bin/a\"b" }, "quotes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := defaultSettings()
			tc.mod(&s)
			b, err := Render(s)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Render = %v, want an error saying %q\n%s", err, tc.msg, b)
			}
		})
	}
}

func TestPathsFor(t *testing.T) {
	got := PathsFor(config.Router{})
	want := Paths{Config: "/perm/ziti/router.yml", Dir: "/perm/ziti/identity"}
	if got != want {
		t.Errorf("PathsFor(default) = %+v, want %+v", got, want)
	}
	if k := got.Key(); k != "/perm/ziti/identity/key.pem" {
		t.Errorf("Key = %q", k)
	}
}

func netipAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
