package diag

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/net/bpf"
)

// wanFilter6 is wanFilter for a peer on IPv6: IKE (UDP 500 and 4500)
// and ESP between the box and peer, either way. Only packets whose next
// header is ESP or UDP right after the fixed header are matched, which
// is how IKE and ESP travel; a fragment's extension header is not walked.
func wanFilter6(peer netip.Addr) []bpf.RawInstruction {
	p := newProg()
	p.emit(bpf.LoadAbsolute{Off: 0, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
	p.jeq(0x60, "", "drop")
	a := peer.As16()
	matchAt := func(off uint32, no string) { // the peer's 16 bytes at off
		for i := uint32(0); i < 4; i++ {
			p.emit(bpf.LoadAbsolute{Off: off + 4*i, Size: 4})
			p.jeq(binary.BigEndian.Uint32(a[4*i:]), "", no)
		}
	}
	matchAt(8, "dst") // source address
	p.goTo("proto")
	p.label("dst")
	matchAt(24, "drop") // destination address
	p.label("proto")
	p.emit(bpf.LoadAbsolute{Off: 6, Size: 1})
	p.jeq(50, "accept", "")
	p.jeq(17, "", "drop")
	for _, off := range []uint32{40, 42} { // source port, destination port
		p.emit(bpf.LoadAbsolute{Off: off, Size: 2})
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
