package nftxfrm

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftReqid7 is the xfrm element of `nft add rule inet t c ipsec in reqid 7
// return` as nft v1.0.6 sends it (nft --debug=mnl): NFTA_EXPR_NAME "xfrm",
// then NFTA_EXPR_DATA with KEY 5 (reqid), DIR 0 (in), SPNUM 0, DREG 1.
const nftReqid7 = "0900 0100 7866726d 00000000" +
	"2400 0280" +
	"0800 0200 00000005" +
	"0500 0300 00000000" +
	"0800 0400 00000000" +
	"0800 0100 00000001"

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMarshalEqualsNft(t *testing.T) {
	x := &Xfrm{Register: 1, Key: KeyReqid, Dir: DirIn}
	got, err := x.Marshal(unix.NFPROTO_INET)
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, nftReqid7)
	if !bytes.Equal(got, want) {
		t.Errorf("xfrm element:\n got %x\nwant %x", got, want)
	}
}

func TestMarshalUnmarshal(t *testing.T) {
	for _, x := range []Xfrm{
		{Register: 1, Key: KeyReqid, Dir: DirIn},
		{Register: 9, Key: KeySPI, Dir: DirOut, SPnum: 1},
		{Register: 2, Key: KeySaddrIP6, Dir: DirIn},
	} {
		data, err := x.MarshalData(unix.NFPROTO_INET)
		if err != nil {
			t.Fatalf("%+v: %v", x, err)
		}
		var back Xfrm
		if err := back.Unmarshal(unix.NFPROTO_INET, data); err != nil {
			t.Fatalf("%+v: %v", x, err)
		}
		if diff := cmp.Diff(x, back); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestMarshalRefusesUnknown(t *testing.T) {
	for _, x := range []Xfrm{{Key: 0}, {Key: 7}, {Key: KeyReqid, Dir: 2}} {
		if _, err := x.Marshal(unix.NFPROTO_INET); err == nil {
			t.Errorf("%+v: marshalled, want an error", x)
		}
	}
}

// TestRelaySwapsPlaceholder queues a rule with a placeholder on a Conn
// whose socket is this test, and checks that what would reach the kernel
// carries the xfrm element instead, the rest of the rule untouched.
func TestRelaySwapsPlaceholder(t *testing.T) {
	var sent []netlink.Message
	capture := func(req []netlink.Message) ([]netlink.Message, error) {
		sent = append(sent, req...)
		return nil, nil
	}
	conn, err := nftables.New(nftables.WithTestDial(capture))
	if err != nil {
		t.Fatal(err)
	}
	table := &nftables.Table{Name: "t", Family: nftables.TableFamilyINet}
	chain := &nftables.Chain{Name: "c", Table: table}
	x := Xfrm{Register: 1, Key: KeyReqid, Dir: DirIn}
	conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
		Placeholder(x),
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{7, 0, 0, 0}},
		&expr.Verdict{Kind: expr.VerdictReturn},
	}})
	if err := conn.Flush(); err != nil {
		t.Fatal(err)
	}
	var rule *netlink.Message
	for i := range sent {
		if sent[i].Header.Type == newRuleType {
			rule = &sent[i]
		}
	}
	if rule == nil {
		t.Fatalf("no new-rule message in %d sent", len(sent))
	}
	if got, ok := IsPlaceholder(Placeholder(x)); !ok || got != x {
		t.Errorf("IsPlaceholder(Placeholder(%+v)) = %+v, %v", x, got, ok)
	}
	swapped, err := swapPlaceholders(rule.Data)
	if err != nil {
		t.Fatal(err)
	}
	exprs := ruleExprs(t, swapped)
	if len(exprs) != 3 {
		t.Fatalf("%d expressions after the swap, want 3", len(exprs))
	}
	if !bytes.Equal(exprs[0], unhex(t, nftReqid7)) {
		t.Errorf("first expression:\n got %x\nwant %x", exprs[0], unhex(t, nftReqid7))
	}
	before := ruleExprs(t, rule.Data)
	for i := 1; i < 3; i++ {
		if !bytes.Equal(exprs[i], before[i]) {
			t.Errorf("expression %d changed by the swap", i)
		}
	}
	// A message without placeholders goes out as it came.
	again, err := swapPlaceholders(swapped)
	if err != nil || !bytes.Equal(again, swapped) {
		t.Errorf("second swap changed the message (err %v)", err)
	}
}

func ruleExprs(t *testing.T, msg []byte) [][]byte {
	t.Helper()
	attrs, err := netlink.UnmarshalAttributes(msg[4:])
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs {
		if a.Type&^unix.NLA_F_NESTED == unix.NFTA_RULE_EXPRESSIONS {
			elems, err := netlink.UnmarshalAttributes(a.Data)
			if err != nil {
				t.Fatal(err)
			}
			var out [][]byte
			for _, e := range elems {
				out = append(out, e.Data)
			}
			return out
		}
	}
	t.Fatal("no expressions in the rule")
	return nil
}
