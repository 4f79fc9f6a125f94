package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// TableName is the one table this package owns. Nothing else is touched.
const TableName = "tunneler"

// TProxyMark is the packet mark the intercept rules set on packets they hand
// to a local transparent socket; TProxyTable is the routing table the policy
// rule `fwmark TProxyMark/TProxyMark lookup TProxyTable` sends them to, where
// a single `local default dev lo` route delivers them locally. (Table local
// itself holds only the box's own addresses, so an intercepted destination
// such as 100.64.7.9 would fall through it to main and be forwarded.)
const (
	TProxyMark  uint32 = 0x1
	TProxyTable        = 122
)

// DefaultMSS is the MSS clamp for policy-mode tunnels: 1500 minus the worst
// ESP-in-UDP tunnel overhead with AES-GCM (about 80 bytes) minus 40 bytes of
// IPv4+TCP headers, rounded down.
const DefaultMSS = 1360

// Spec is everything the firewall needs to know. The apply step fills it
// from config.Config; tests fill it directly.
type Spec struct {
	// WAN and LAN name the interfaces facing the IPsec peers and the
	// management network. With SingleNIC the same interface is in both.
	WAN       []string
	LAN       []string
	SingleNIC bool

	// AllowedMgmtSources limits who may reach the web UI, metrics and
	// ICMP echo on LAN. Empty means any source on LAN. With SingleNIC the
	// peers' addresses are refused whatever this says: the web UI never
	// answers toward the IPsec side.
	AllowedMgmtSources []netip.Prefix

	// Peers are the remote VPN devices' public addresses. Only they reach
	// IKE (UDP 500, 4500) and ESP. They are held in sets, so the cost per
	// packet does not grow with their number.
	Peers []netip.Addr

	// InsideAddr is the bridge's inside address (on lo): the DNS resolver
	// and the address remote sites ping to check the tunnel.
	InsideAddr netip.Addr
	// InterceptRange is the router's intercept range (100.64.0.0/10).
	// Informational for now: intercepts themselves come from the diverter.
	InterceptRange netip.Prefix
	// RemoteNetworks are the networks behind the remote sites (policy mode).
	RemoteNetworks []netip.Prefix
	// RouteInterfaces are the xfrm interfaces of route-based tunnels.
	RouteInterfaces []RouteIface
	// Sources ties remote networks to the reqid of the SAs they must come
	// through (policy mode; all remotes of a site share one reqid). A
	// packet from a source's networks decrypted by any other SA, or by
	// none, is dropped and counted (in_ipsec_spoof): one site's peer cannot
	// send with another site's addresses.
	Sources []Source

	// WebPorts are the web UI's TCP ports (80 and 443 when empty);
	// MetricsPort, when not zero, is opened on LAN alongside them.
	WebPorts    []uint16
	MetricsPort uint16
	// DNSPort is the resolver's port on InsideAddr (53 when zero).
	DNSPort uint16

	// MSS is the clamp for TCP SYNs in policy-mode tunnels (DefaultMSS
	// when zero). NoMSSClamp turns clamping off altogether.
	MSS        uint16
	NoMSSClamp bool

	// PingRate is the ICMP echo requests per second accepted from the
	// tunnels and from LAN (10 when zero).
	PingRate uint32

	// LogDrops logs dropped packets to the kernel log, rate-limited.
	LogDrops bool
}

// Source is the networks behind one tunnel or site, and the reqid of its
// SAs.
type Source struct {
	ReqID    uint32
	Networks []netip.Prefix
}

// RouteIface is one xfrm interface of a route-based tunnel.
type RouteIface struct {
	Name string
	// MTU of the interface, used to clamp the MSS of SYNs coming in
	// from it (MTU-40). Zero clamps them to Spec.MSS. SYNs going out
	// through it are clamped to the route's MTU (`rt mtu`) either way.
	MTU int
}

func (s Spec) webPorts() []uint16 {
	ports := s.WebPorts
	if len(ports) == 0 {
		ports = []uint16{80, 443}
	}
	out := append([]uint16(nil), ports...)
	if s.MetricsPort != 0 {
		out = append(out, s.MetricsPort)
	}
	return out
}

// sources merges the Sources of one reqid and sorts them by reqid, so the
// same spec always builds the same sets and rules.
func (s Spec) sources() []Source {
	by := map[uint32][]netip.Prefix{}
	for _, src := range s.Sources {
		by[src.ReqID] = append(by[src.ReqID], src.Networks...)
	}
	var out []Source
	for id, nets := range by {
		if len(mergePrefixes(nets)) > 0 {
			out = append(out, Source{ReqID: id, Networks: mergePrefixes(nets)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ReqID < out[j].ReqID })
	return out
}

func (s Spec) dnsPort() uint16 {
	if s.DNSPort == 0 {
		return 53
	}
	return s.DNSPort
}

func (s Spec) mss() uint16 {
	if s.MSS == 0 {
		return DefaultMSS
	}
	return s.MSS
}

func (s Spec) pingRate() uint32 {
	if s.PingRate == 0 {
		return 10
	}
	return s.PingRate
}

// Validate reports every problem with s at once.
func (s Spec) Validate() error {
	var errs []error
	checkIfaces := func(what string, names []string) {
		for _, n := range names {
			if n == "" || len(n) > 15 || strings.ContainsAny(n, "/ \x00") {
				errs = append(errs, fmt.Errorf("%s interface %q: not a valid interface name", what, n))
			}
		}
	}
	checkIfaces("WAN", s.WAN)
	checkIfaces("LAN", s.LAN)
	for _, r := range s.RouteInterfaces {
		checkIfaces("route", []string{r.Name})
		if r.MTU != 0 && (r.MTU < 576 || r.MTU > 65535) {
			errs = append(errs, fmt.Errorf("route interface %q: MTU %d out of range", r.Name, r.MTU))
		}
	}
	if s.SingleNIC && (len(s.WAN) != 1 || len(s.LAN) != 1 || s.WAN[0] != s.LAN[0]) {
		errs = append(errs, errors.New("single NIC: WAN and LAN must name the same one interface"))
	}
	for _, p := range s.Peers {
		if !p.IsValid() || p.IsUnspecified() {
			errs = append(errs, fmt.Errorf("peer %v: not a usable address", p))
		}
	}
	for _, p := range s.AllowedMgmtSources {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("management source %v: not a prefix", p))
		}
	}
	for _, src := range s.Sources {
		if src.ReqID == 0 {
			errs = append(errs, fmt.Errorf("source networks %v: reqid 0 matches any SA", src.Networks))
		}
		for _, p := range src.Networks {
			if !p.IsValid() {
				errs = append(errs, fmt.Errorf("source of reqid %d: network %v: not a prefix", src.ReqID, p))
			}
		}
	}
	if s.InsideAddr.IsValid() && s.InsideAddr.Zone() != "" {
		errs = append(errs, fmt.Errorf("inside address %v: zones are not allowed", s.InsideAddr))
	}
	if s.MSS != 0 && (s.MSS < 536 || s.MSS > 1460) {
		errs = append(errs, fmt.Errorf("MSS %d out of range 536..1460", s.MSS))
	}
	return errors.Join(errs...)
}
