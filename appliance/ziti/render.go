package ziti

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"text/template"

	"github.com/tunneler/tunneler/appliance/config"
)

// Defaults for what Settings leaves zero.
const (
	// DefaultBinary is the router in the image (image/ziti's ziti-router,
	// built by image/ziti/build.sh), with the slot's extras on /usr.
	DefaultBinary = "/usr/bin/ziti-router"
	// DefaultDiverter is init's binary answering as the tproxy diverter
	// (firewall.RunDiverter).
	DefaultDiverter = "/bin/tunneler-diverter"
	// DefaultLinkPort is where the link listener binds, when asked for.
	DefaultLinkPort = 10080
	// DNSPort is the resolver's port on the inside address.
	DNSPort = 53
)

var (
	// DefaultEdgeListen is the edge (SDK) listener: loopback only, since
	// the box's clients arrive through the tunnel binding, not SDKs.
	DefaultEdgeListen = netip.MustParseAddrPort("127.0.0.1:3022")
	// DefaultHealthListen serves the health checks to the box itself.
	DefaultHealthListen = netip.MustParseAddrPort("127.0.0.1:8081")
)

// Settings is everything Render needs. Router comes from the box's
// config; Controllers from the enrollment token (kept in
// enrollment.json); the rest are fixed by the image and overridable for
// tests.
type Settings struct {
	Router      config.Router
	Paths       Paths
	Controllers []string // tls:host:port

	Diverter     string         // DefaultDiverter when ""
	EdgeListen   netip.AddrPort // DefaultEdgeListen when zero
	HealthListen netip.AddrPort // DefaultHealthListen when zero
	// LinkAdvertise is host:port other routers dial when
	// Router.LinkListener is on; the listener binds 0.0.0.0 on its port.
	LinkAdvertise string
}

func (s Settings) withDefaults() Settings {
	if s.Diverter == "" {
		s.Diverter = DefaultDiverter
	}
	if !s.EdgeListen.IsValid() {
		s.EdgeListen = DefaultEdgeListen
	}
	if !s.HealthListen.IsValid() {
		s.HealthListen = DefaultHealthListen
	}
	if s.Paths == (Paths{}) {
		s.Paths = PathsFor(s.Router)
	}
	if s.Router.InterceptRange.IsZero() {
		s.Router.InterceptRange = config.PrefixFrom(config.DefaultInterceptRange)
	}
	if s.Router.InsideAddress.IsZero() {
		s.Router.InsideAddress = config.AddrFrom(config.DefaultInsideAddress)
	}
	return s
}

// DNSRange is the tunnel binding's dnsSvcIpRange: the intercept range
// written as inside-address/bits. The router adds exactly that to lo and
// hands out service addresses after it, so the inside address itself is
// never given to a service.
func DNSRange(r config.Router) (netip.Prefix, error) {
	rng, inside := r.InterceptRange.Prefix, r.InsideAddress.Addr
	switch {
	case !rng.IsValid() || !rng.Addr().Is4():
		return netip.Prefix{}, fmt.Errorf("intercept range %q: want an IPv4 prefix", r.InterceptRange.String())
	case !inside.IsValid() || !inside.Is4():
		return netip.Prefix{}, fmt.Errorf("inside address %q: want an IPv4 address", r.InsideAddress.String())
	case !rng.Masked().Contains(inside):
		return netip.Prefix{}, fmt.Errorf("inside address %s is outside the intercept range %s", inside, rng.Masked())
	}
	return netip.PrefixFrom(inside, rng.Bits()), nil
}

type view struct {
	S          Settings
	Ctrls      []string
	DNSRange   string
	Resolver   string
	LinkBind   string
	LinkAdv    string
	EdgeListen string
}

// Render returns the router's config.yml for s. It fails on settings the
// router would reject or misread, so a bad config never reaches the disk.
func Render(s Settings) ([]byte, error) {
	s = s.withDefaults()
	if len(s.Controllers) == 0 {
		return nil, fmt.Errorf("render router config: no controller endpoint (is the router enrolled?)")
	}
	v := view{S: s, EdgeListen: s.EdgeListen.String()}
	for _, c := range s.Controllers {
		c, err := controllerEndpoint(c)
		if err != nil {
			return nil, fmt.Errorf("render router config: controller %q: %v", c, err)
		}
		v.Ctrls = append(v.Ctrls, c)
	}
	dns, err := DNSRange(s.Router)
	if err != nil {
		return nil, fmt.Errorf("render router config: %w", err)
	}
	v.DNSRange = dns.String()
	v.Resolver = "udp://" + netip.AddrPortFrom(dns.Addr(), DNSPort).String()
	if s.Router.LinkListener {
		host, port, err := net.SplitHostPort(s.LinkAdvertise)
		if err != nil || host == "" {
			return nil, fmt.Errorf("render router config: the link listener needs the host:port other routers reach it at, not %q", s.LinkAdvertise)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, fmt.Errorf("render router config: link port %q: %v", port, err)
		}
		v.LinkBind = "tls:0.0.0.0:" + port
		v.LinkAdv = "tls:" + net.JoinHostPort(host, port)
	}
	for _, p := range []string{s.Paths.Cert(), s.Diverter} {
		if strings.ContainsAny(p, "\"\\\n") {
			return nil, fmt.Errorf("render router config: path %q has quotes or newlines", p)
		}
	}
	var b bytes.Buffer
	if err := routerTemplate.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("render router config: %w", err)
	}
	return b.Bytes(), nil
}

// The template quotes every string with q (a YAML double-quoted scalar),
// so no value can change the document's structure.
var routerTemplate = template.Must(template.New("router.yml").Funcs(template.FuncMap{
	"q": strconv.Quote,
}).Parse(`# OpenZiti edge router, rendered by the box (appliance/ziti) before each
# start from its settings: edits here are overwritten.
v: 3

identity:
  cert: {{q .S.Paths.Cert}}
  server_cert: {{q .S.Paths.ServerCert}}
  key: {{q .S.Paths.Key}}
  ca: {{q .S.Paths.CA}}

ctrl:
  endpoints:
{{- range .Ctrls}}
    - {{q .}}
{{- end}}
  # The router keeps the controller list up to date here.
  endpointsFile: {{q .S.Paths.Endpoints}}

# Dial out to other routers' links.{{if .LinkBind}} Other routers may also dial in.{{else}} No link listener: the box
# opens no port toward the WAN beyond IKE.{{end}}
link:
  dialers:
    - binding: transport
{{- if .LinkBind}}
  listeners:
    - binding: transport
      bind: {{q .LinkBind}}
      advertise: {{q .LinkAdv}}
{{- end}}

listeners:
  # SDK clients: loopback only.
  - binding: edge
    address: {{q (print "tls:" .EdgeListen)}}
    options:
      advertise: {{q .EdgeListen}}
  # The remote site's traffic: tproxy intercepts written by our diverter
  # (nftables, no iptables), and the DNS resolver on the inside address.
  - binding: tunnel
    options:
      mode: {{q (print "tproxy:" .S.Diverter)}}
      resolver: {{q .Resolver}}
      dnsSvcIpRange: {{q .DNSRange}}

edge:
  db: {{q .S.Paths.DB}}
  csr:
    sans:
      dns:
        - "localhost"
      ip:
        - "127.0.0.1"

# Ping the controller often, so status shows a lost controller quickly.
healthChecks:
  ctrlPingCheck:
    interval: 5s
    timeout: 4s
    initialDelay: 1s

web:
  - name: health-checks
    bindPoints:
      - interface: {{q .S.HealthListen.String}}
        address: {{q .S.HealthListen.String}}
    apis:
      - binding: health-checks
`))
