package diag

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/xfrm"
)

// Action names what to run.
type Action string

const (
	ActPing       Action = "ping"
	ActTCP        Action = "tcp"
	ActTraceroute Action = "traceroute"
	ActDNS        Action = "dns"
	ActCapture    Action = "capture"
)

// Actions lists the actions, in the order the page shows them.
var Actions = []Action{ActPing, ActTCP, ActTraceroute, ActDNS, ActCapture}

// Capture presets.
const (
	PresetWAN    = "wan"    // IKE and ESP between the box and one tunnel's peer, on the WAN
	PresetInside = "inside" // one tunnel's decrypted traffic
)

// Bounds of a request: a diagnostic never runs long or fills the RAM.
const (
	MaxPings          = 20
	DefaultPings      = 4
	MaxHops           = 30
	DefaultHops       = 15
	MaxCaptureSeconds = 300
	DefaultCaptureSec = 30
	MaxCaptureKB      = 16 << 10
	DefaultCaptureKB  = 4 << 10
	MinCaptureKB      = 16
)

// Request is one action with its arguments, as decoded from a form, the
// JSON API or the console. Zero numbers mean the defaults.
type Request struct {
	Action  Action
	Tunnel  string // ping, tcp, traceroute, capture
	Target  string // ping, tcp, traceroute: an address behind the tunnel
	Port    int    // tcp
	Count   int    // ping: echo requests; traceroute: max hops
	Name    string // dns
	Type    string // dns: A or AAAA ("" is A)
	Preset  string // capture: wan or inside
	Seconds int    // capture: time bound
	MaxKB   int    // capture: size bound of the file, in KiB
}

// Problem is a bad argument, by the request's (and the form's) field.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problems is every bad argument of a request.
type Problems []Problem

func (ps Problems) Error() string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Field+": "+p.Message)
	}
	return strings.Join(s, "; ")
}

func (ps *Problems) add(field, format string, args ...any) {
	*ps = append(*ps, Problem{field, fmt.Sprintf(format, args...)})
}

// Output is where a Job writes: Lines gets its text, a line at a time, as
// it runs; a capture writes its pcap file to File and reports its size
// to Progress as it grows (either may be nil for other actions).
type Output struct {
	Lines    io.Writer
	File     io.Writer
	Progress func(packets, bytes int)
}

// Job is a planned action.
type Job interface {
	Run(ctx context.Context, out Output) error
}

// Runner plans jobs against the box's applied config.
type Runner struct {
	// Config is the applied config, defaults applied.
	Config func() config.Config
	// WAN names the WAN interfaces (netconf's status), for captures.
	WAN func() []string
}

// Tunnel is one tunnel as a probe sees it.
type Tunnel struct {
	Name   string
	Peer   string
	Source netip.Addr // the inside address
	Local  []netip.Prefix
	Remote []netip.Prefix
	// Device is the tunnel's xfrm interface in route mode, "" in policy
	// mode.
	Device string
}

// Tunnels lists the applied config's tunnels (every remote of a site is
// one) as probes see them.
func Tunnels(c config.Config) []Tunnel {
	c = c.WithDefaults()
	var out []Tunnel
	for _, t := range c.AllTunnels() {
		dt := Tunnel{Name: t.Name, Peer: t.PeerAddress, Source: c.Router.InsideAddress.Addr}
		for _, p := range t.LocalNetworks {
			if p.IsValid() {
				dt.Local = append(dt.Local, p.Masked())
			}
		}
		for _, p := range t.RemoteNetworks {
			if p.IsValid() {
				dt.Remote = append(dt.Remote, p.Masked())
			}
		}
		if t.Mode == config.ModeRoute {
			dt.Device = xfrm.InterfaceName(t.IfID)
		}
		out = append(out, dt)
	}
	return out
}

// behind reports whether a lies in one of the tunnel's remote networks.
func (t Tunnel) behind(a netip.Addr) bool {
	return slices.ContainsFunc(t.Remote, func(p netip.Prefix) bool { return p.Contains(a) })
}

func (t Tunnel) remoteText() string {
	var s []string
	for _, p := range t.Remote {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

// dnsName is a host name: labels of letters, digits, '-' and '_'.
var dnsName = regexp.MustCompile(`^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$`)

// Plan checks r against the applied config and returns its job, or every
// problem with it.
func (rn *Runner) Plan(r Request) (Job, Problems) {
	var c config.Config
	if rn.Config != nil {
		c = rn.Config()
	}
	var ps Problems
	tunnels := Tunnels(c)
	tunnel := func() (Tunnel, bool) {
		if r.Tunnel == "" {
			ps.add("tunnel", "is missing: choose the tunnel to go through")
			return Tunnel{}, false
		}
		i := slices.IndexFunc(tunnels, func(t Tunnel) bool { return t.Name == r.Tunnel })
		if i < 0 {
			ps.add("tunnel", "%q is not a tunnel of this box", r.Tunnel)
			return Tunnel{}, false
		}
		return tunnels[i], true
	}
	target := func(t Tunnel, ok bool) netip.Addr {
		a, err := netip.ParseAddr(r.Target)
		switch {
		case r.Target == "":
			ps.add("target", "is missing: give the address of a host behind the remote site")
		case err != nil || a.Zone() != "":
			ps.add("target", "%q is not an IP address", r.Target)
		case ok && !t.behind(a.Unmap()):
			ps.add("target", "%s is not behind tunnel %s (its remote networks: %s)", a, t.Name, t.remoteText())
		}
		return a.Unmap()
	}
	switch r.Action {
	case ActPing, ActTraceroute:
		t, ok := tunnel()
		a := target(t, ok)
		if a.IsValid() && !a.Is4() {
			ps.add("target", "%s: only IPv4 hosts can be probed from the inside address", a)
		}
		n, def, most := r.Count, DefaultPings, MaxPings
		if r.Action == ActTraceroute {
			def, most = DefaultHops, MaxHops
		}
		if n == 0 {
			n = def
		}
		if n < 1 || n > most {
			ps.add("count", "is %d; use 1 to %d", r.Count, most)
		}
		if len(ps) > 0 {
			return nil, ps
		}
		if r.Action == ActPing {
			return &Ping{Tunnel: t.Name, Source: t.Source, Target: a, Count: n, Interval: time.Second, Timeout: time.Second}, nil
		}
		return &Traceroute{Tunnel: t.Name, Source: t.Source, Target: a, MaxHops: n, Timeout: 2 * time.Second}, nil
	case ActTCP:
		t, ok := tunnel()
		a := target(t, ok)
		if r.Port < 1 || r.Port > 65535 {
			ps.add("port", "is %d; give a TCP port from 1 to 65535", r.Port)
		}
		if len(ps) > 0 {
			return nil, ps
		}
		return &TCPConnect{Tunnel: t.Name, Source: t.Source, Target: netip.AddrPortFrom(a, uint16(r.Port)), Timeout: 5 * time.Second}, nil
	case ActDNS:
		name := strings.TrimSpace(r.Name)
		switch {
		case name == "":
			ps.add("name", "is missing: give a host name to look up")
		case len(name) > 253 || !dnsName.MatchString(name):
			ps.add("name", "%q is not a host name", clip(name, 64))
		}
		typ := strings.ToUpper(r.Type)
		if typ == "" {
			typ = "A"
		}
		if typ != "A" && typ != "AAAA" {
			ps.add("type", "%q: choose A or AAAA", clip(r.Type, 16))
		}
		inside := c.WithDefaults().Router.InsideAddress.Addr
		if !inside.IsValid() {
			ps.add("name", "the box has no inside address: its resolver is not running")
		}
		if len(ps) > 0 {
			return nil, ps
		}
		return &Lookup{Name: name, Type: typ, Server: netip.AddrPortFrom(inside, 53), Timeout: 5 * time.Second}, nil
	case ActCapture:
		t, ok := tunnel()
		return rn.planCapture(r, t, ok, ps)
	}
	ps.add("action", "%q: choose one of ping, tcp, traceroute, dns, capture", clip(string(r.Action), 32))
	return nil, ps
}

// planCapture goes on from Plan with the tunnel (ok: found) and the
// problems so far.
func (rn *Runner) planCapture(r Request, t Tunnel, ok bool, ps Problems) (Job, Problems) {
	secs, kb := r.Seconds, r.MaxKB
	if secs == 0 {
		secs = DefaultCaptureSec
	}
	if kb == 0 {
		kb = DefaultCaptureKB
	}
	if secs < 1 || secs > MaxCaptureSeconds {
		ps.add("seconds", "is %d; a capture runs 1 to %d seconds", r.Seconds, MaxCaptureSeconds)
	}
	if kb < MinCaptureKB || kb > MaxCaptureKB {
		ps.add("max_kb", "is %d; a capture holds %d to %d KiB (it is kept in RAM)", r.MaxKB, MinCaptureKB, MaxCaptureKB)
	}
	job := &Capture{Tunnel: t.Name, Duration: time.Duration(secs) * time.Second, MaxBytes: kb << 10}
	var wan []string
	if rn.WAN != nil {
		wan = rn.WAN()
	}
	switch r.Preset {
	case PresetWAN:
		if !ok {
			break
		}
		peer, err := netip.ParseAddr(t.Peer)
		if err != nil {
			ps.add("preset", "the WAN preset filters on the peer's IP address; tunnel %s's peer is the name %q", t.Name, t.Peer)
			break
		}
		filter := wanFilter
		if peer = peer.Unmap(); peer.Is6() {
			filter = wanFilter6
		}
		job.Filter, job.Describe = filter(peer), fmt.Sprintf("IKE and ESP between the box and %s", peer)
		if len(wan) == 0 {
			ps.add("preset", "the box has no WAN interface to capture on")
			break
		}
		job.Interface = wan[0]
	case PresetInside:
		if !ok {
			break
		}
		if len(t.Remote) == 0 || len(t.Local) == 0 {
			ps.add("preset", "tunnel %s has no networks to filter on", t.Name)
			break
		}
		f, err := insideFilter(t.Local, t.Remote)
		if err != nil {
			ps.add("preset", "tunnel %s: %v", t.Name, err)
			break
		}
		job.Filter, job.Describe = f, fmt.Sprintf("tunnel %s's decrypted traffic", t.Name)
		switch {
		case t.Device != "":
			job.Interface = t.Device
		case len(wan) == 0:
			ps.add("preset", "the box has no WAN interface to capture on")
		default:
			// Policy mode: the kernel hands decrypted packets to the stack
			// again on the interface ESP came in on; what the box sends
			// into the tunnel is encrypted before any interface sees it.
			job.Interface = wan[0]
			job.InboundOnly = true
		}
	case "":
		ps.add("preset", "is missing: choose wan or inside")
	default:
		ps.add("preset", "%q: choose wan or inside", clip(r.Preset, 32))
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return job, nil
}

// clip shortens s for a message that quotes it.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
