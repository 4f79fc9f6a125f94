package apply

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/netconf"
	"github.com/tunneler/tunneler/appliance/xfrm"
)

// FirewallSpec is the box's whole ruleset for c, given the NICs netconf has
// bound to roles (st) and the peers' addresses (see ResolvePeers). A role
// with no NIC is left out: with one NIC, management shares the WAN
// interface, and the firewall refuses the peers on it.
func FirewallSpec(c config.Config, st netconf.Status, peers []netip.Addr) firewall.Spec {
	c = c.WithDefaults()
	var spec firewall.Spec
	for _, i := range st.Interfaces {
		switch {
		case i.Role == netconf.RoleWAN && i.Shared:
			spec.WAN = append(spec.WAN, i.Name)
			spec.LAN = append(spec.LAN, i.Name)
			spec.SingleNIC = true
		case i.Role == netconf.RoleWAN:
			spec.WAN = append(spec.WAN, i.Name)
		case i.Role == netconf.RoleLAN:
			spec.LAN = append(spec.LAN, i.Name)
		}
	}
	if spec.SingleNIC && (len(spec.WAN) != 1 || len(spec.LAN) != 1) {
		spec.SingleNIC = false // cannot happen with netconf's binding; stay valid
	}
	for _, n := range c.Admin.AllowedNetworks {
		if n.IsValid() {
			spec.AllowedMgmtSources = append(spec.AllowedMgmtSources, n.Masked())
		}
	}
	spec.Peers = uniqueAddrs(peers)
	if a := c.Router.InsideAddress; a.IsValid() {
		spec.InsideAddr = a.Addr
	}
	if r := c.Router.InterceptRange; r.IsValid() {
		spec.InterceptRange = r.Masked()
	}
	// Expand adds each site's remote networks once (the active remote's
	// tunnel; every remote of a site serves the same networks, through
	// SAs of the one reqid the site's remotes share).
	reqids := ipsec.ReqIDs(c.AllTunnels())
	for _, t := range c.Expand(nil).Tunnels {
		if t.Mode == config.ModeRoute {
			spec.RouteInterfaces = append(spec.RouteInterfaces, firewall.RouteIface{Name: xfrm.InterfaceName(t.IfID)})
			continue
		}
		src := firewall.Source{ReqID: reqids[t.Name]}
		for _, n := range t.RemoteNetworks {
			if n.IsValid() {
				spec.RemoteNetworks = append(spec.RemoteNetworks, n.Masked())
				src.Networks = append(src.Networks, n.Masked())
			}
		}
		if src.ReqID != 0 && len(src.Networks) > 0 {
			spec.Sources = append(spec.Sources, src)
		}
	}
	return spec
}

func uniqueAddrs(in []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range in {
		a = a.Unmap()
		if a.IsValid() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// Resolver looks up a peer's DNS name (net.DefaultResolver in the box).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ResolveTimeout bounds the lookup of one peer name.
const ResolveTimeout = 3 * time.Second

// ResolvePeers returns the addresses of every tunnel's peer, and of every
// remote of every site (standbys keep their IKE SAs up): literal
// addresses as they are, DNS names through r. A name that does not resolve
// (no DNS yet at boot) is reported and left out: its peer cannot reach IKE
// until a later apply resolves it, which fails closed.
func ResolvePeers(ctx context.Context, r Resolver, c config.Config) ([]netip.Addr, []error) {
	var addrs []netip.Addr
	var errs []error
	for _, t := range c.AllTunnels() {
		if a, err := netip.ParseAddr(t.PeerAddress); err == nil {
			addrs = append(addrs, a)
			continue
		}
		if t.PeerAddress == "" || r == nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, ResolveTimeout)
		found, err := r.LookupNetIP(lctx, "ip", t.PeerAddress)
		cancel()
		if err != nil || len(found) == 0 {
			if err == nil {
				err = fmt.Errorf("no addresses")
			}
			errs = append(errs, fmt.Errorf("tunnel %s: resolve peer %s: %w", t.Name, t.PeerAddress, err))
			continue
		}
		addrs = append(addrs, found...)
	}
	return uniqueAddrs(addrs), errs
}
