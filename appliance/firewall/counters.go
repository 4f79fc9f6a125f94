package firewall

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Counter is what one counter has seen.
type Counter struct {
	Packets uint64
	Bytes   uint64
}

// Counters reads every named counter of our table (see Ruleset.Counters
// for the names), and one counter per router intercept, named
// "intercept <tuple>". The values are cumulative across Apply.
func Counters(conn *nftables.Conn) (map[string]Counter, error) {
	return readCounters(conn, true)
}

func readCounters(conn *nftables.Conn, withIntercepts bool) (map[string]Counter, error) {
	objs, err := conn.GetNamedObjects(ourTable())
	if err != nil {
		return nil, fmt.Errorf("read counters of table inet %s: %w", TableName, err)
	}
	out := map[string]Counter{}
	for _, o := range objs {
		if no, ok := o.(*nftables.NamedObj); ok {
			if no.Table != nil && no.Table.Name != TableName {
				continue
			}
			if c, ok := no.Obj.(*expr.Counter); ok {
				out[no.Name] = Counter{Packets: c.Packets, Bytes: c.Bytes}
			}
			continue
		}
		if c, ok := o.(*nftables.CounterObj); ok {
			out[c.Name] = Counter{Packets: c.Packets, Bytes: c.Bytes}
		}
	}
	if !withIntercepts {
		return out, nil
	}
	rules, err := interceptRules(conn)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		ic, ok := parseInterceptComment(commentFromUserdata(r.UserData))
		if !ok {
			continue
		}
		for _, e := range r.Exprs {
			if c, ok := e.(*expr.Counter); ok {
				out["intercept "+ic.key()] = Counter{Packets: c.Packets, Bytes: c.Bytes}
			}
		}
	}
	return out, nil
}

// What a rule does with the packets its counter counts.
const (
	ActionDrop   = "drop"
	ActionAccept = "accept"
	ActionClamp  = "clamp" // TCP MSS rewritten; the packet goes on
)

// RuleCounter is one named counter as the status page, the console and
// the metrics show it.
type RuleCounter struct {
	Name   string // the counter's name in the ruleset, e.g. "in_drop"
	Action string // ActionDrop, ActionAccept or ActionClamp
	What   string // what the rule matches, in plain words
	Counter
}

// ruleInfo says what each named counter of Build counts, in the order a
// page lists them: drops first, since they are what an operator looks for.
var ruleInfo = []struct{ name, action, what string }{
	{"in_drop", ActionDrop, "to the box, not allowed (WAN: not a peer or not IKE/ESP; LAN: not the web UI or ping)"},
	{"in_ipsec_drop", ActionDrop, "from a tunnel, not to the router, the resolver or ping of the inside address"},
	{"in_ipsec_spoof", ActionDrop, "from a tunnel with another site's source address (not through that site's own SAs)"},
	{"in_ipsec_ping_drop", ActionDrop, "from a tunnel: ping of the inside address beyond the rate limit"},
	{"in_lan_ping_drop", ActionDrop, "ping on the management side beyond the rate limit"},
	{"fwd_tunnel", ActionDrop, "forwarding from a tunnel (to another site, the WAN or the LAN)"},
	{"fwd_drop", ActionDrop, "forwarding, anything else"},
	{"in_invalid", ActionDrop, "invalid packets (no connection they could belong to)"},
	{"in_ike", ActionAccept, "IKE (UDP 500/4500) from configured peers"},
	{"in_esp", ActionAccept, "ESP from configured peers"},
	{"in_established", ActionAccept, "replies and established connections"},
	{"in_ipsec_established", ActionAccept, "from a tunnel: replies and established connections"},
	{"in_loopback", ActionAccept, "loopback"},
	{"in_dhcp", ActionAccept, "DHCP replies"},
	{"in_icmpv6_nd", ActionAccept, "IPv6 neighbour discovery"},
	{"in_icmpv6_mld", ActionAccept, "IPv6 multicast listener queries (link-local)"},
	{"in_mgmt", ActionAccept, "web UI and metrics on the management side"},
	{"in_lan_ping", ActionAccept, "ping on the management side (rate-limited)"},
	{"in_ipsec_intercept", ActionAccept, "from a tunnel to the router's intercepts"},
	{"in_ipsec_dns", ActionAccept, "from a tunnel to the DNS resolver on the inside address"},
	{"in_ipsec_ping", ActionAccept, "from a tunnel: ping of the inside address (rate-limited)"},
	{"mss_clamp_in", ActionClamp, "TCP MSS clamped on SYNs from tunnels"},
	{"mss_clamp_out", ActionClamp, "TCP MSS clamped on SYNs into tunnels"},
}

// RuleCounters reads Counters and says what each counts: the known rules
// in ruleInfo's order, then the router's intercepts by name. It is what
// the web UI, the console status and /metrics show.
func RuleCounters(conn *nftables.Conn) ([]RuleCounter, error) {
	cs, err := Counters(conn)
	if err != nil {
		return nil, err
	}
	return describe(cs), nil
}

func describe(cs map[string]Counter) []RuleCounter {
	var out []RuleCounter
	known := map[string]bool{}
	for _, ri := range ruleInfo {
		known[ri.name] = true
		if c, ok := cs[ri.name]; ok {
			out = append(out, RuleCounter{Name: ri.name, Action: ri.action, What: ri.what, Counter: c})
		}
	}
	var rest []string
	for name := range cs {
		if !known[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		rc := RuleCounter{Name: name, Counter: cs[name]} // not described here
		if strings.HasPrefix(name, "intercept ") {
			rc.Action, rc.What = ActionAccept, "router intercept"
		}
		out = append(out, rc)
	}
	return out
}
