package firewall

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// tproxyListenAddr is where the router's tproxy listeners are: v1.7.2
// listens on 127.0.0.1 with an ephemeral port, one per service and
// protocol, and hands the diverter only the port.
var tproxyListenAddr = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// Intercept is one TPROXY rule the router asked for. The tuple (Proto,
// Dst, Src, LowPort, HighPort, Iface) is its key: the router deletes by
// it, without TProxyPort and ServiceID.
type Intercept struct {
	Proto      string // "tcp" or "udp"
	Dst        netip.Prefix
	Src        netip.Prefix
	LowPort    uint16
	HighPort   uint16
	Iface      string // only packets that came in through it; "" for any
	TProxyPort uint16
	ServiceID  string
}

func (ic Intercept) normalize() Intercept {
	ic.Dst = ic.Dst.Masked()
	if !ic.Src.IsValid() {
		ic.Src = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	ic.Src = ic.Src.Masked()
	return ic
}

func (ic Intercept) validate() error {
	switch ic.Proto {
	case "tcp", "udp":
	default:
		return fmt.Errorf("protocol %q: want tcp or udp", ic.Proto)
	}
	if !ic.Dst.IsValid() || !ic.Dst.Addr().Is4() {
		// The router's tproxy listeners are IPv4 only (127.0.0.1).
		return fmt.Errorf("destination %v: want an IPv4 prefix", ic.Dst)
	}
	if !ic.Src.Addr().Is4() {
		return fmt.Errorf("source %v: want an IPv4 prefix", ic.Src)
	}
	if ic.LowPort > ic.HighPort {
		return fmt.Errorf("ports %d-%d: low above high", ic.LowPort, ic.HighPort)
	}
	if len(ic.Iface) > 15 || strings.ContainsAny(ic.Iface, " /") {
		return fmt.Errorf("interface %q: not a valid name", ic.Iface)
	}
	if strings.ContainsAny(ic.ServiceID, " \x00") || len(ic.ServiceID) > 64 {
		return fmt.Errorf("service id %q: not a ziti id", ic.ServiceID)
	}
	return nil
}

// key is the tuple the router deletes by, as text.
func (ic Intercept) key() string {
	ic = ic.normalize()
	k := fmt.Sprintf("%s %s from %s ports %d-%d", ic.Proto, ic.Dst, ic.Src, ic.LowPort, ic.HighPort)
	if ic.Iface != "" {
		k += " iif " + ic.Iface
	}
	return k
}

// comment is what the rule carries in its userdata: the key, then the
// port and service. It is how the rules are found again, by the diverter
// and by Apply, which re-adds them.
func (ic Intercept) comment() string {
	return fmt.Sprintf("ziti %s to %d svc %s", ic.key(), ic.TProxyPort, ic.ServiceID)
}

func parseInterceptComment(c string) (Intercept, bool) {
	f := strings.Fields(c)
	// ziti PROTO DST from SRC ports L-H [iif IF] to PORT svc [ID]
	if len(f) < 9 || f[0] != "ziti" || f[3] != "from" || f[5] != "ports" {
		return Intercept{}, false
	}
	ic := Intercept{Proto: f[1]}
	var err error
	if ic.Dst, err = netip.ParsePrefix(f[2]); err != nil {
		return Intercept{}, false
	}
	if ic.Src, err = netip.ParsePrefix(f[4]); err != nil {
		return Intercept{}, false
	}
	lo, hi, ok := strings.Cut(f[6], "-")
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return Intercept{}, false
	}
	ic.LowPort, ic.HighPort = uint16(l), uint16(h)
	rest := f[7:]
	if len(rest) >= 2 && rest[0] == "iif" {
		ic.Iface, rest = rest[1], rest[2:]
	}
	if len(rest) < 3 || rest[0] != "to" || rest[2] != "svc" {
		return Intercept{}, false
	}
	p, err := strconv.ParseUint(rest[1], 10, 16)
	if err != nil {
		return Intercept{}, false
	}
	ic.TProxyPort = uint16(p)
	if len(rest) > 3 {
		ic.ServiceID = rest[3]
	}
	return ic, true
}

// interceptRule: packets of the tuple go to the router's listener, marked
// so that the fwmark route delivers them locally and ipsec_in accepts
// them. The intercepts chain is only reached from from_tunnel, so only
// traffic that came out of a tunnel is ever intercepted.
func interceptRule(ic Intercept) *rule {
	ic = ic.normalize()
	proto := byte(unix.IPPROTO_TCP)
	if ic.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	r := newRule(chainIntercepts)
	if ic.Iface != "" {
		r.iifname(ic.Iface)
	}
	r.nfproto(false).prefix(true, ic.Src).prefix(false, ic.Dst).l4proto(proto).
		port(proto, true, ic.LowPort, ic.HighPort).anonCounter().
		tproxy4(tproxyListenAddr, ic.TProxyPort).markSet(TProxyMark).accept()
	r.comment = ic.comment()
	return r
}

func interceptRules(conn *nftables.Conn) ([]*nftables.Rule, error) {
	t := ourTable()
	if ok, err := chainExists(conn, chainIntercepts); err != nil || !ok {
		return nil, err
	}
	rules, err := conn.GetRules(t, &nftables.Chain{Name: chainIntercepts, Table: t})
	if err != nil {
		return nil, fmt.Errorf("list chain %s: %w", chainIntercepts, err)
	}
	return rules, nil
}

func chainExists(conn *nftables.Conn, name string) (bool, error) {
	if ok, err := tableExists(conn); err != nil || !ok {
		return false, err
	}
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("list chains: %w", err)
	}
	for _, c := range chains {
		if c.Table.Name == TableName && c.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// listIntercepts reads the intercepts back from the kernel, in rule order.
func listIntercepts(conn *nftables.Conn) ([]Intercept, error) {
	rules, err := interceptRules(conn)
	if err != nil {
		return nil, err
	}
	var out []Intercept
	for _, r := range rules {
		if ic, ok := parseInterceptComment(commentFromUserdata(r.UserData)); ok {
			out = append(out, ic)
		}
	}
	return out, nil
}

// Intercepts lists the router's intercepts now in the kernel.
func Intercepts(conn *nftables.Conn) ([]Intercept, error) {
	unlock, err := lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return listIntercepts(conn)
}

// AddIntercept makes ic the one rule for its tuple: adding the same
// intercept twice leaves one rule; adding it with a new port or service
// replaces the old rule in the same transaction.
func AddIntercept(conn *nftables.Conn, ic Intercept) error {
	ic = ic.normalize()
	if err := ic.validate(); err != nil {
		return fmt.Errorf("intercept: %w", err)
	}
	unlock, err := lock()
	if err != nil {
		return err
	}
	defer unlock()
	ok, err := chainExists(conn, chainIntercepts)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("add intercept %s: no chain %s in table inet %s (is the firewall applied?)", ic.key(), chainIntercepts, TableName)
	}
	rules, err := interceptRules(conn)
	if err != nil {
		return err
	}
	want := ic.comment()
	same := 0
	for _, r := range rules {
		c := commentFromUserdata(r.UserData)
		old, ok := parseInterceptComment(c)
		if !ok || old.key() != ic.key() {
			continue
		}
		if c == want && same == 0 {
			same++
			continue
		}
		if err := conn.DelRule(r); err != nil {
			abort(conn)
			return fmt.Errorf("add intercept %s: delete old rule: %w", ic.key(), err)
		}
	}
	if same == 0 {
		t := ourTable()
		conn.AddRule(interceptRule(ic).nftRule(t, map[string]*nftables.Chain{chainIntercepts: {Name: chainIntercepts, Table: t}}))
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("add intercept %s: %w", ic.key(), err)
	}
	return nil
}

// RemoveIntercept deletes the rules of ic's tuple (TProxyPort and
// ServiceID are ignored). Removing one that is not there is no error: the
// router removes what it believes it added.
func RemoveIntercept(conn *nftables.Conn, ic Intercept) error {
	ic = ic.normalize()
	unlock, err := lock()
	if err != nil {
		return err
	}
	defer unlock()
	rules, err := interceptRules(conn)
	if err != nil {
		return err
	}
	n := 0
	for _, r := range rules {
		old, ok := parseInterceptComment(commentFromUserdata(r.UserData))
		if !ok || old.key() != ic.key() {
			continue
		}
		if err := conn.DelRule(r); err != nil {
			abort(conn)
			return fmt.Errorf("remove intercept %s: %w", ic.key(), err)
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("remove intercept %s: %w", ic.key(), err)
	}
	return nil
}

// FlushIntercepts removes every intercept. The router does no cleanup
// when it uses a diverter, so the box calls this before each router
// start. A missing chain (boot ruleset) has nothing to flush.
func FlushIntercepts(conn *nftables.Conn) error {
	unlock, err := lock()
	if err != nil {
		return err
	}
	defer unlock()
	ok, err := chainExists(conn, chainIntercepts)
	if err != nil || !ok {
		return err
	}
	t := ourTable()
	conn.FlushChain(&nftables.Chain{Name: chainIntercepts, Table: t})
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("flush intercepts: %w", err)
	}
	return nil
}
