package diag

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
)

// Filters are classic BPF programs over a packet from its IP header on
// (AF_PACKET, SOCK_DGRAM), IPv4 only but for wanFilter6 (an IPv6 peer).
// snapLen is what an accepted packet keeps.
const snapLen = 65535

// prog is a BPF program under construction, with named jump targets
// resolved at the end ("" is the next instruction).
type prog struct {
	ins    []bpf.Instruction
	labels map[string]int
	jumps  []jump
}

type jump struct {
	at      int
	yes, no string
}

func newProg() *prog { return &prog{labels: map[string]int{}} }

func (p *prog) emit(i ...bpf.Instruction) { p.ins = append(p.ins, i...) }
func (p *prog) label(name string)         { p.labels[name] = len(p.ins) }

// jeq jumps to yes if A == v, else to no.
func (p *prog) jeq(v uint32, yes, no string) {
	p.jumps = append(p.jumps, jump{len(p.ins), yes, no})
	p.ins = append(p.ins, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v})
}

// goTo jumps unconditionally.
func (p *prog) goTo(to string) {
	p.jumps = append(p.jumps, jump{len(p.ins), to, ""})
	p.ins = append(p.ins, bpf.Jump{})
}

// assemble ends the program with accept and drop and resolves the jumps.
func (p *prog) assemble() ([]bpf.RawInstruction, error) {
	p.label("accept")
	p.emit(bpf.RetConstant{Val: snapLen})
	p.label("drop")
	p.emit(bpf.RetConstant{Val: 0})
	skip := func(at int, to string) (int, error) {
		if to == "" {
			return 0, nil
		}
		t, ok := p.labels[to]
		if !ok {
			return 0, fmt.Errorf("bpf: no label %q", to)
		}
		return t - at - 1, nil
	}
	for _, j := range p.jumps {
		y, err := skip(j.at, j.yes)
		if err != nil {
			return nil, err
		}
		n, err := skip(j.at, j.no)
		if err != nil {
			return nil, err
		}
		switch i := p.ins[j.at].(type) {
		case bpf.Jump:
			i.Skip = uint32(y)
			p.ins[j.at] = i
		case bpf.JumpIf:
			if y > 255 || n > 255 {
				return nil, fmt.Errorf("bpf: filter too long (a jump of %d)", max(y, n))
			}
			i.SkipTrue, i.SkipFalse = uint8(y), uint8(n)
			p.ins[j.at] = i
		}
	}
	return bpf.Assemble(p.ins)
}

// ipv4Only starts a program: anything but IPv4 is dropped.
func (p *prog) ipv4Only() {
	p.emit(bpf.LoadAbsolute{Off: 0, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
	p.jeq(0x40, "", "drop")
}

func be32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

// wanFilter keeps IKE (UDP 500 and 4500, which also carries ESP in UDP)
// and ESP between the box and peer, either way.
func wanFilter(peer netip.Addr) []bpf.RawInstruction {
	p := newProg()
	p.ipv4Only()
	v := be32(peer)
	p.emit(bpf.LoadAbsolute{Off: 12, Size: 4})
	p.jeq(v, "proto", "")
	p.emit(bpf.LoadAbsolute{Off: 16, Size: 4})
	p.jeq(v, "proto", "drop")
	p.label("proto")
	p.emit(bpf.LoadAbsolute{Off: 9, Size: 1})
	p.jeq(50, "accept", "")
	p.jeq(17, "", "drop")
	// A later fragment has no UDP header: keep it, it belongs to the peer.
	p.emit(bpf.LoadAbsolute{Off: 6, Size: 2}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x1fff})
	p.jeq(0, "", "accept")
	p.emit(bpf.LoadMemShift{Off: 0})
	for _, off := range []uint32{0, 2} { // source port, destination port
		p.emit(bpf.LoadIndirect{Off: off, Size: 2})
		p.jeq(500, "accept", "")
		p.jeq(4500, "accept", "")
	}
	p.goTo("drop")
	raw, err := p.assemble()
	if err != nil {
		panic(err) // fixed shape: a test assembles it
	}
	return raw
}

// maxNetworks bounds the inside filter's length (BPF jumps reach 255).
const maxNetworks = 16

// insideFilter keeps packets between the local and the remote networks,
// either way.
func insideFilter(local, remote []netip.Prefix) ([]bpf.RawInstruction, error) {
	var l4, r4 []netip.Prefix
	for _, x := range local {
		if x.Addr().Is4() {
			l4 = append(l4, x.Masked())
		}
	}
	for _, x := range remote {
		if x.Addr().Is4() {
			r4 = append(r4, x.Masked())
		}
	}
	if len(l4) == 0 || len(r4) == 0 {
		return nil, fmt.Errorf("the inside preset filters IPv4 networks; the tunnel has none on one side")
	}
	if len(l4) > maxNetworks || len(r4) > maxNetworks {
		return nil, fmt.Errorf("the inside preset filters at most %d networks a side", maxNetworks)
	}
	p := newProg()
	p.ipv4Only()
	// in matches the address at off against nets: to yes, else on.
	in := func(off uint32, nets []netip.Prefix, yes string) {
		for _, n := range nets {
			mask := uint32(0xffffffff) << (32 - n.Bits())
			if n.Bits() == 0 {
				mask = 0
			}
			p.emit(bpf.LoadAbsolute{Off: off, Size: 4}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
			p.jeq(be32(n.Addr())&mask, yes, "")
		}
	}
	in(12, r4, "from_remote")
	in(12, l4, "from_local")
	p.goTo("drop")
	p.label("from_remote")
	in(16, l4, "accept")
	p.goTo("drop")
	p.label("from_local")
	in(16, r4, "accept")
	p.goTo("drop")
	return p.assemble()
}
