package nftxfrm

import (
	"bytes"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// placeholderName is the xt match name a placeholder carries. No such
// match exists, so a placeholder that reached the kernel unswapped (sent
// through a plain nftables.Conn) makes it refuse the whole batch: the
// ruleset fails closed instead of loading a rule that means something else.
const placeholderName = "tunneler-nftxfrm"

const newRuleType = netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWRULE)

// Placeholder stands for x in a rule's expression list. Only a Conn of
// this package sends it as x; see placeholderName for any other.
func Placeholder(x Xfrm) expr.Any {
	data, _ := x.marshalAttrs() // checked when the Conn swaps it
	info := xt.Unknown(data)
	return &expr.Match{Name: placeholderName, Info: &info}
}

// IsPlaceholder reports whether e is a Placeholder, and of which Xfrm.
func IsPlaceholder(e expr.Any) (Xfrm, bool) {
	m, ok := e.(*expr.Match)
	if !ok || m.Name != placeholderName {
		return Xfrm{}, false
	}
	info, ok := m.Info.(*xt.Unknown)
	if !ok {
		return Xfrm{}, false
	}
	var x Xfrm
	if err := x.Unmarshal(0, *info); err != nil {
		return Xfrm{}, false
	}
	return x, true
}

// Conn returns an nftables connection for one batch. It queues messages
// as any Conn does; its Flush sends them through a netlink socket of its
// own in the network namespace netns (0: the caller's), each placeholder
// swapped for its expression, and reads the kernel's answers from there.
// Only batches go through it: reads work but gain nothing. Call close
// when done; a Conn never flushed sends nothing.
func Conn(netns int) (conn *nftables.Conn, close func() error, err error) {
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: netns})
	if err != nil {
		return nil, nil, fmt.Errorf("open nftables netlink socket: %w", err)
	}
	growBuffers(nl)
	conn, err = nftables.New(nftables.WithTestDial(relay(nl)))
	if err != nil {
		nl.Close()
		return nil, nil, err
	}
	return conn, nl.Close, nil
}

// batchBuffer is the socket buffer a whole-table batch needs at a
// head-end's size. The batch goes out in one sendmsg, which fails with
// EMSGSIZE past the send buffer, and its acks come back at once, which
// overflow the receive buffer (ENOBUFS): with the kernel's defaults
// (~208 KiB) a booted box failed both ways, at 1,000 and at 100 peers
// (issue 18's BenchmarkHeadEnd). It is a bound, not an allocation.
const batchBuffer = 32 << 20

// growBuffers raises nl's buffers to batchBuffer. SO_*BUFFORCE passes
// rmem_max and wmem_max, and needs CAP_NET_ADMIN, which init has; without
// it the plain options take what the limits allow.
func growBuffers(nl *netlink.Conn) {
	raw, err := nl.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		for _, o := range [][2]int{{unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}, {unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}} {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], batchBuffer) != nil {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], batchBuffer)
			}
		}
	})
}

// relay passes the library's traffic to nl. The library's test hook calls
// it with the messages of each send, and with nil for each receive.
func relay(nl *netlink.Conn) nltest.Func {
	return func(req []netlink.Message) ([]netlink.Message, error) {
		if req == nil {
			return nl.Receive()
		}
		out := make([]netlink.Message, len(req))
		for i, m := range req {
			// nl numbers and sizes them again.
			m.Header.Length, m.Header.Sequence, m.Header.PID = 0, 0, 0
			if m.Header.Type == newRuleType {
				data, err := swapPlaceholders(m.Data)
				if err != nil {
					return nil, err
				}
				m.Data = data
			}
			out[i] = m
		}
		_, err := nl.SendMessages(out)
		return nil, err
	}
}

// swapPlaceholders rewrites a NFT_MSG_NEWRULE message's body (nfgenmsg,
// then attributes), replacing each placeholder in its expression list by
// the xfrm expression it stands for.
func swapPlaceholders(msg []byte) ([]byte, error) {
	if len(msg) < 4 {
		return nil, fmt.Errorf("new rule message of %d bytes: too short", len(msg))
	}
	fam := msg[0]
	attrs, err := netlink.UnmarshalAttributes(msg[4:])
	if err != nil {
		return nil, fmt.Errorf("decode new rule message: %w", err)
	}
	changed := false
	for i, a := range attrs {
		if a.Type&^unix.NLA_F_NESTED != unix.NFTA_RULE_EXPRESSIONS {
			continue
		}
		elems, err := netlink.UnmarshalAttributes(a.Data)
		if err != nil {
			return nil, fmt.Errorf("decode rule expressions: %w", err)
		}
		swapped := false
		for j, el := range elems {
			x, ok, err := placeholderIn(el.Data)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if elems[j].Data, err = x.Marshal(fam); err != nil {
				return nil, err
			}
			elems[j].Length = 0
			swapped = true
		}
		if !swapped {
			continue
		}
		if attrs[i].Data, err = netlink.MarshalAttributes(elems); err != nil {
			return nil, fmt.Errorf("encode rule expressions: %w", err)
		}
		attrs[i].Length = 0
		changed = true
	}
	if !changed {
		return msg, nil
	}
	body, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return nil, fmt.Errorf("encode new rule message: %w", err)
	}
	return append(append([]byte(nil), msg[:4]...), body...), nil
}

// placeholderIn decodes one expression (NFTA_EXPR_NAME, NFTA_EXPR_DATA)
// and returns the Xfrm it stands for if it is a placeholder.
func placeholderIn(el []byte) (Xfrm, bool, error) {
	fields, err := netlink.UnmarshalAttributes(el)
	if err != nil {
		return Xfrm{}, false, fmt.Errorf("decode rule expression: %w", err)
	}
	var name string
	var data []byte
	for _, f := range fields {
		switch f.Type &^ unix.NLA_F_NESTED {
		case unix.NFTA_EXPR_NAME:
			name = string(bytes.TrimRight(f.Data, "\x00"))
		case unix.NFTA_EXPR_DATA:
			data = f.Data
		}
	}
	if name != "match" {
		return Xfrm{}, false, nil
	}
	mattrs, err := netlink.UnmarshalAttributes(data)
	if err != nil {
		return Xfrm{}, false, fmt.Errorf("decode match expression: %w", err)
	}
	var mname string
	var info []byte
	for _, f := range mattrs {
		switch f.Type {
		case unix.NFTA_MATCH_NAME:
			mname = string(bytes.TrimRight(f.Data, "\x00"))
		case unix.NFTA_MATCH_INFO:
			info = f.Data
		}
	}
	if mname != placeholderName {
		return Xfrm{}, false, nil
	}
	var x Xfrm
	if err := x.Unmarshal(0, info); err != nil {
		return Xfrm{}, false, err
	}
	return x, true, nil
}
