// Package nftxfrm gives google/nftables the one expression the firewall
// needs and the library lacks: xfrm (NFT_EXPR_XFRM, nft's `ipsec in reqid
// N`), which loads a field of the IPsec SA a packet was decrypted by.
//
// The library's expr.Any has unexported methods, so no expression can be
// added from outside it. Xfrm is written in the shape of the library's own
// expressions (a struct with the kernel's attributes, marshal and
// unmarshal), ready to move into its expr package as it is. Until then,
// a rule carries it as Placeholder(x), an expression the library can
// marshal, and the Conn of this package swaps each placeholder for the
// real expression on the way to the kernel (see relay.go).
package nftxfrm

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Kernel attributes of the xfrm expression (linux/netfilter/nf_tables.h,
// enum nft_xfrm_attributes); golang.org/x/sys/unix does not name them.
const (
	attrDreg  = 1 // NFTA_XFRM_DREG, u32
	attrKey   = 2 // NFTA_XFRM_KEY, u32
	attrDir   = 3 // NFTA_XFRM_DIR, u8
	attrSPnum = 4 // NFTA_XFRM_SPNUM, u32
)

// Key is the field of the SA the expression loads (enum nft_xfrm_keys).
type Key uint32

const (
	KeyDaddrIP4 Key = 1 // NFT_XFRM_KEY_DADDR_IP4: the SA's outer destination
	KeyDaddrIP6 Key = 2
	KeySaddrIP4 Key = 3 // NFT_XFRM_KEY_SADDR_IP4: the SA's outer source
	KeySaddrIP6 Key = 4
	KeyReqid    Key = 5 // NFT_XFRM_KEY_REQID, host byte order
	KeySPI      Key = 6 // NFT_XFRM_KEY_SPI, network byte order
)

// Dir says which SA: the one that decrypted the packet (In) or the one it
// is routed to for encryption (Out). These are XFRM_POLICY_IN and _OUT.
type Dir uint8

const (
	DirIn  Dir = 0
	DirOut Dir = 1
)

// Xfrm loads Key of the packet's SA into Register; `ipsec in reqid 7` is
// Xfrm{Key: KeyReqid, Dir: DirIn, Register: 1} followed by a cmp. SPnum
// picks the SA in a bundle (0: the outermost, the last one applied in).
// A packet with no such SA ends the rule there (NFT_BREAK): a rule that
// accepts on a reqid never accepts a packet that came in clear.
type Xfrm struct {
	Register uint32
	Key      Key
	Dir      Dir
	SPnum    uint32
}

// Marshal encodes e as one element of a rule's expression list: its name
// and its data, as the library's expr.Marshal does for its own.
func (e *Xfrm) Marshal(fam byte) ([]byte, error) {
	data, err := e.MarshalData(fam)
	if err != nil {
		return nil, err
	}
	return netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_EXPR_NAME, Data: []byte("xfrm\x00")},
		{Type: unix.NLA_F_NESTED | unix.NFTA_EXPR_DATA, Data: data},
	})
}

// MarshalData encodes e's attributes (NFTA_EXPR_DATA's content).
func (e *Xfrm) MarshalData(fam byte) ([]byte, error) {
	if e.Key < KeyDaddrIP4 || e.Key > KeySPI {
		return nil, fmt.Errorf("xfrm expression: unknown key %d", e.Key)
	}
	if e.Dir != DirIn && e.Dir != DirOut {
		return nil, fmt.Errorf("xfrm expression: unknown direction %d", e.Dir)
	}
	return e.marshalAttrs()
}

// marshalAttrs writes the attributes in the order nft (libnftnl) sends
// them, SPnum included when zero, so the bytes equal nft's own.
func (e *Xfrm) marshalAttrs() ([]byte, error) {
	return netlink.MarshalAttributes([]netlink.Attribute{
		{Type: attrKey, Data: binary.BigEndian.AppendUint32(nil, uint32(e.Key))},
		{Type: attrDir, Data: []byte{byte(e.Dir)}},
		{Type: attrSPnum, Data: binary.BigEndian.AppendUint32(nil, e.SPnum)},
		{Type: attrDreg, Data: binary.BigEndian.AppendUint32(nil, e.Register)},
	})
}

// Unmarshal fills e from NFTA_EXPR_DATA's content, as the kernel dumps it.
func (e *Xfrm) Unmarshal(fam byte, data []byte) error {
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return fmt.Errorf("xfrm expression: %w", err)
	}
	ad.ByteOrder = binary.BigEndian
	*e = Xfrm{}
	for ad.Next() {
		switch ad.Type() {
		case attrDreg:
			e.Register = ad.Uint32()
		case attrKey:
			e.Key = Key(ad.Uint32())
		case attrDir:
			e.Dir = Dir(ad.Uint8())
		case attrSPnum:
			e.SPnum = ad.Uint32()
		}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("xfrm expression: %w", err)
	}
	return nil
}
