package sites

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/xfrm"
)

// Kernel fills o with the box's own parts: XFRM policies over netlink,
// charon under sup (none when sup is nil), the inside address on lo and
// the system's DNS resolver. o.Log must be set first: charon's client
// logs through it.
func Kernel(sup *supervise.Supervisor, o Options) Options {
	o.NewPolicies = func() (Policies, error) {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, err
		}
		return xfrm.New(h), nil
	}
	if sup != nil {
		log := o.Log
		o.NewCharon = func() (Charon, error) {
			r, err := ipsec.NewRunner(sup, ipsec.RunnerOptions{
				// The client's lines carry their own "ipsec: " prefix.
				Client: ipsec.Options{Logf: func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) }},
				// A charon that was killed leaves its SAs in the kernel; the next
				// one starts from none, behind the policies (fail closed).
				BeforeStart: func(context.Context) error {
					if err := netlink.XfrmStateFlush(0); err != nil {
						return fmt.Errorf("flush the SAs of the previous charon: %w", err)
					}
					return nil
				},
			})
			if err != nil {
				return nil, err
			}
			return supervised{r}, nil
		}
	}
	o.InsideAddress = addToLo
	o.Resolve = resolve
	return o
}

// supervised is charon as ipsec.Runner runs it.
type supervised struct{ r *ipsec.Runner }

func (s supervised) Client() Client { return s.r.Client }
func (s supervised) Start() error   { return s.r.Unit.Start() }

// addToLo puts a on lo with scope host.
func addToLo(a netip.Addr) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}, Scope: int(netlink.SCOPE_HOST)}
	return netlink.AddrReplace(lo, addr)
}

// resolve looks a peer's name up in the system's DNS, IPv4 and IPv6,
// for its first address. The resolver orders them by RFC 6724 (an IPv6
// address first only when the box has an IPv6 source that suits it), as
// charon's getaddrinfo does for the same name, so the policies' peer and
// the one charon talks to agree.
func resolve(host string) (netip.Addr, error) {
	addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("%s has no address", host)
	}
	return addrs[0].Unmap(), nil
}
