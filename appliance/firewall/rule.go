package firewall

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/tunneler/tunneler/appliance/firewall/internal/nftxfrm"
	"golang.org/x/sys/unix"
)

// Kernel constants google/nftables v0.3.0 does not name.
const (
	metaKeySecpath  = expr.MetaKey(25) // NFT_META_SECPATH
	rtKeyXfrm       = expr.RtKey(4)    // NFT_RT_XFRM
	objTypeCounter  = 1                // NFT_OBJECT_COUNTER
	tcpOptMaxseg    = 2
	tcpFlagSYN      = 0x02
	tcpFlagRST      = 0x04
	icmpEchoRequest = 8
	icmp6EchoReq    = 128
	icmp6MLDQuery   = 130
)

// rule is one nftables rule together with the nft-like text it stands for.
// The text is what unit tests read and what String prints; the exprs are
// what the kernel gets. Each builder method appends to both, so they cannot
// drift apart.
type rule struct {
	chain       string
	counterName string // named counter this rule updates, if any
	text        []string
	exprs       []expr.Any
	comment     string
}

func newRule(chain string) *rule { return &rule{chain: chain} }

func (r *rule) add(text string, e ...expr.Any) *rule {
	if text != "" {
		r.text = append(r.text, text)
	}
	r.exprs = append(r.exprs, e...)
	return r
}

// String renders the rule the way nft would print it, roughly.
func (r *rule) String() string { return strings.Join(r.text, " ") }

func cmpEq(data []byte) *expr.Cmp {
	return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data}
}

func ifname(n string) []byte {
	b := make([]byte, 16)
	copy(b, n)
	return b
}

func be16(v uint16) []byte { return binaryutil.BigEndian.PutUint16(v) }

func (r *rule) iifLoopback() *rule {
	// lo is ifindex 1 in every network namespace.
	return r.add(`iif "lo"`,
		&expr.Meta{Key: expr.MetaKeyIIF, Register: 1},
		cmpEq(binaryutil.NativeEndian.PutUint32(1)))
}

func (r *rule) ifnameSet(key expr.MetaKey, set string) *rule {
	word := "iifname"
	if key == expr.MetaKeyOIFNAME {
		word = "oifname"
	}
	return r.add(fmt.Sprintf("%s @%s", word, set),
		&expr.Meta{Key: key, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: set})
}

func (r *rule) iifnameSet(set string) *rule { return r.ifnameSet(expr.MetaKeyIIFNAME, set) }
func (r *rule) oifnameSet(set string) *rule { return r.ifnameSet(expr.MetaKeyOIFNAME, set) }

func (r *rule) iifname(n string) *rule {
	return r.add(fmt.Sprintf("iifname %q", n),
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		cmpEq(ifname(n)))
}

func (r *rule) nfproto(v6 bool) *rule {
	if v6 {
		return r.add("meta nfproto ipv6",
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, cmpEq([]byte{unix.NFPROTO_IPV6}))
	}
	return r.add("meta nfproto ipv4",
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, cmpEq([]byte{unix.NFPROTO_IPV4}))
}

var l4names = map[byte]string{unix.IPPROTO_TCP: "tcp", unix.IPPROTO_UDP: "udp", unix.IPPROTO_ESP: "esp",
	unix.IPPROTO_ICMP: "icmp", unix.IPPROTO_ICMPV6: "ipv6-icmp"}

func (r *rule) l4proto(p byte) *rule {
	return r.add("meta l4proto "+l4names[p],
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, cmpEq([]byte{p}))
}

// addrField returns the network header offset and length of the source
// or destination address.
func addrField(v6, src bool) (off, n uint32, word string) {
	switch {
	case v6 && src:
		return 8, 16, "ip6 saddr"
	case v6:
		return 24, 16, "ip6 daddr"
	case src:
		return 12, 4, "ip saddr"
	default:
		return 16, 4, "ip daddr"
	}
}

func loadNet(off, n uint32) *expr.Payload {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}
}

func loadTransport(off, n uint32) *expr.Payload {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: n}
}

// addrSet matches the source or destination address against a named set;
// the caller has already matched the family.
func (r *rule) addrSet(v6, src, invert bool, set string) *rule {
	off, n, word := addrField(v6, src)
	op := ""
	if invert {
		op = "!= "
	}
	return r.add(fmt.Sprintf("%s %s@%s", word, op, set),
		loadNet(off, n), &expr.Lookup{SourceRegister: 1, SetName: set, Invert: invert})
}

// prefix matches an address against a prefix; a /0 matches everything and
// adds nothing.
func (r *rule) prefix(src bool, p netip.Prefix) *rule {
	p = p.Masked()
	if p.Bits() == 0 {
		return r
	}
	v6 := p.Addr().Is6()
	off, n, word := addrField(v6, src)
	text := fmt.Sprintf("%s %s", word, p)
	if p.IsSingleIP() {
		text = fmt.Sprintf("%s %s", word, p.Addr())
		return r.add(text, loadNet(off, n), cmpEq(p.Addr().AsSlice()))
	}
	m := make([]byte, n)
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return r.add(text, loadNet(off, n),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: m, Xor: make([]byte, n)},
		cmpEq(p.Addr().AsSlice()))
}

func (r *rule) addr(src bool, a netip.Addr) *rule {
	return r.prefix(src, netip.PrefixFrom(a, a.BitLen()))
}

func protoWord(p byte) string { return l4names[p] }

// ports matches the destination (or source) port of the tcp/udp header
// against one port, a range, or a small anonymous list; the caller has
// already matched the l4 protocol.
func (r *rule) port(proto byte, dst bool, lo, hi uint16) *rule {
	off, word := uint32(0), "sport"
	if dst {
		off, word = 2, "dport"
	}
	w := fmt.Sprintf("%s %s", protoWord(proto), word)
	if lo == hi {
		return r.add(fmt.Sprintf("%s %d", w, lo), loadTransport(off, 2), cmpEq(be16(lo)))
	}
	if lo == 0 && hi == 65535 {
		return r
	}
	return r.add(fmt.Sprintf("%s %d-%d", w, lo, hi), loadTransport(off, 2),
		&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: be16(lo), ToData: be16(hi)})
}

func (r *rule) dportSet(proto byte, set string) *rule {
	return r.add(fmt.Sprintf("%s dport @%s", protoWord(proto), set),
		loadTransport(2, 2), &expr.Lookup{SourceRegister: 1, SetName: set})
}

var ctNames = map[uint32]string{expr.CtStateBitINVALID: "invalid", expr.CtStateBitESTABLISHED: "established",
	expr.CtStateBitRELATED: "related", expr.CtStateBitNEW: "new"}

// ctState matches when the connection's state is any of bits.
func (r *rule) ctState(bits ...uint32) *rule {
	var mask uint32
	var names []string
	for _, b := range bits {
		mask |= b
		names = append(names, ctNames[b])
	}
	return r.add("ct state "+strings.Join(names, ","),
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(mask), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)})
}

// secpath matches packets that were decrypted by an xfrm state on the way
// in (`meta secpath exists`): ESP in policy mode and on xfrm interfaces.
func (r *rule) secpath() *rule {
	return r.add("meta secpath exists",
		&expr.Meta{Key: metaKeySecpath, Register: 1}, cmpEq([]byte{1}))
}

// ipsecInReqid matches packets decrypted by an SA of reqid id (`ipsec in
// reqid N`). A packet that came in clear has no such SA and never matches.
func (r *rule) ipsecInReqid(id uint32) *rule {
	return r.add(fmt.Sprintf("ipsec in reqid %d", id),
		nftxfrm.Placeholder(nftxfrm.Xfrm{Register: 1, Key: nftxfrm.KeyReqid, Dir: nftxfrm.DirIn}),
		cmpEq(binaryutil.NativeEndian.PutUint32(id)))
}

// rtIPsec matches packets routed into an xfrm bundle (`rt ipsec exists`):
// the plain-text packet on its way to being encrypted in policy mode.
func (r *rule) rtIPsec() *rule {
	return r.add("rt ipsec exists",
		&expr.Rt{Register: 1, Key: rtKeyXfrm}, cmpEq([]byte{1}))
}

func (r *rule) markMatch(mark uint32) *rule {
	return r.add(fmt.Sprintf("meta mark & 0x%08x == 0x%08x", mark, mark),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(mark), Xor: make([]byte, 4)},
		cmpEq(binaryutil.NativeEndian.PutUint32(mark)))
}

func (r *rule) markSet(mark uint32) *rule {
	return r.add(fmt.Sprintf("meta mark set 0x%08x", mark),
		&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(mark)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1})
}

// icmpType matches an ICMP (or ICMPv6) type; it matches the l4 protocol
// itself.
func (r *rule) icmpType(v6 bool, typ byte, name string) *rule {
	if v6 {
		r.l4proto(unix.IPPROTO_ICMPV6)
		r.text = r.text[:len(r.text)-1]
		return r.add("icmpv6 type "+name, loadTransport(0, 1), cmpEq([]byte{typ}))
	}
	r.l4proto(unix.IPPROTO_ICMP)
	r.text = r.text[:len(r.text)-1]
	return r.add("icmp type "+name, loadTransport(0, 1), cmpEq([]byte{typ}))
}

func (r *rule) hopLimit255() *rule {
	return r.add("ip6 hoplimit 255", loadNet(7, 1), cmpEq([]byte{255}))
}

// limit passes at most rate packets a second (with a burst), and stops
// the rule for the rest.
func (r *rule) limit(rate uint64, burst uint32) *rule {
	return r.add(fmt.Sprintf("limit rate %d/second burst %d packets", rate, burst),
		&expr.Limit{Type: expr.LimitTypePkts, Rate: rate, Unit: expr.LimitTimeSecond, Burst: burst})
}

// limitOver passes only the packets beyond rate a second (after the
// burst): the ones a rate limit must drop.
func (r *rule) limitOver(rate uint64, burst uint32) *rule {
	return r.add(fmt.Sprintf("limit rate over %d/second burst %d packets", rate, burst),
		&expr.Limit{Type: expr.LimitTypePkts, Rate: rate, Over: true, Unit: expr.LimitTimeSecond, Burst: burst})
}

func (r *rule) tcpSYN() *rule {
	r.l4proto(unix.IPPROTO_TCP)
	r.text = r.text[:len(r.text)-1]
	return r.add("tcp flags & (syn|rst) == syn", loadTransport(13, 1),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{tcpFlagSYN | tcpFlagRST}, Xor: []byte{0}},
		cmpEq([]byte{tcpFlagSYN}))
}

func loadMSS() *expr.Exthdr {
	return &expr.Exthdr{DestRegister: 1, Op: expr.ExthdrOpTcpopt, Type: tcpOptMaxseg, Offset: 2, Len: 2}
}

func storeMSS() *expr.Exthdr {
	return &expr.Exthdr{SourceRegister: 1, Op: expr.ExthdrOpTcpopt, Type: tcpOptMaxseg, Offset: 2, Len: 2}
}

// clampMSS lowers the MSS option of a SYN to mss, never raising it.
func (r *rule) clampMSS(mss uint16) *rule {
	return r.add(fmt.Sprintf("tcp option maxseg size > %d tcp option maxseg size set %d", mss, mss),
		loadMSS(), &expr.Cmp{Op: expr.CmpOpGt, Register: 1, Data: be16(mss)},
		&expr.Immediate{Register: 1, Data: be16(mss)}, storeMSS())
}

// clampMSSRoute sets the MSS of a SYN from the route's MTU; the kernel
// never raises an MSS this way.
func (r *rule) clampMSSRoute() *rule {
	return r.add("tcp option maxseg size set rt mtu",
		&expr.Rt{Register: 1, Key: expr.RtTCPMSS}, storeMSS())
}

func (r *rule) counter(name string) *rule {
	r.counterName = name
	return r.add("counter name "+name, &expr.Objref{Type: objTypeCounter, Name: name})
}

func (r *rule) anonCounter() *rule {
	return r.add("counter", &expr.Counter{})
}

func (r *rule) log(prefix string) *rule {
	return r.add(fmt.Sprintf("log prefix %q", prefix),
		&expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(prefix)})
}

// tproxy4 hands the packet to the transparent socket on addr:port (or to
// an established socket of the same connection), and stops the rule when
// there is none.
func (r *rule) tproxy4(addr netip.Addr, port uint16) *rule {
	return r.add(fmt.Sprintf("tproxy ip to %s:%d", addr, port),
		&expr.Immediate{Register: 1, Data: addr.AsSlice()},
		&expr.Immediate{Register: 2, Data: be16(port)},
		&expr.TProxy{Family: unix.NFPROTO_IPV4, TableFamily: unix.NFPROTO_INET, RegAddr: 1, RegPort: 2})
}

func (r *rule) socketTransparent() *rule {
	return r.add("socket transparent 1",
		&expr.Socket{Key: expr.SocketKeyTransparent, Register: 1}, cmpEq([]byte{1}))
}

func (r *rule) verdict(kind expr.VerdictKind, chain, text string) *rule {
	return r.add(text, &expr.Verdict{Kind: kind, Chain: chain})
}

func (r *rule) accept() *rule       { return r.verdict(expr.VerdictAccept, "", "accept") }
func (r *rule) drop() *rule         { return r.verdict(expr.VerdictDrop, "", "drop") }
func (r *rule) ret() *rule          { return r.verdict(expr.VerdictReturn, "", "return") }
func (r *rule) jump(c string) *rule { return r.verdict(expr.VerdictJump, c, "jump "+c) }
func (r *rule) goTo(c string) *rule { return r.verdict(expr.VerdictGoto, c, "goto "+c) }

// nftRule turns r into a google/nftables rule for table t.
func (r *rule) nftRule(t *nftables.Table, chains map[string]*nftables.Chain) *nftables.Rule {
	nr := &nftables.Rule{Table: t, Chain: chains[r.chain], Exprs: r.exprs}
	if r.comment != "" {
		nr.UserData = userdataComment(r.comment)
	}
	return nr
}

// userdataComment encodes a rule comment the way nft does (TLV type 0,
// NUL-terminated), so `nft list` shows it.
func userdataComment(c string) []byte {
	b := append([]byte(c), 0)
	return append([]byte{0, byte(len(b))}, b...)
}

func commentFromUserdata(u []byte) string {
	for len(u) >= 2 {
		typ, n := u[0], int(u[1])
		if len(u) < 2+n {
			return ""
		}
		if typ == 0 {
			return strings.TrimRight(string(u[2:2+n]), "\x00")
		}
		u = u[2+n:]
	}
	return ""
}
