package xfrm

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/tunneler/tunneler/appliance/config"
)

// Resolver turns a peer address (IP or DNS name) into an address.
type Resolver func(host string) (netip.Addr, error)

// FromConfig builds the desired XFRM state from a config with defaults
// applied. reqids comes from ipsec.ReqIDs so charon and the policies agree.
// A tunnel whose peer does not resolve is left out and reported; keep its
// previous policies with KeepUnresolved so a DNS hiccup never removes them.
func FromConfig(cfg config.Config, reqids map[string]uint32, resolve Resolver) (Desired, error) {
	d := Desired{InsideAddress: cfg.Router.InsideAddress.Addr}
	// The remotes of a site (config.Expand puts the active one in Tunnels).
	remotes := map[string]bool{}
	for _, s := range cfg.Sites {
		for i := range s.Remotes {
			remotes[config.RemoteTunnelName(s.Name, i)] = true
		}
	}
	var errs []error
	for _, t := range cfg.Tunnels {
		peer, err := netip.ParseAddr(t.PeerAddress)
		if err != nil {
			if resolve == nil {
				errs = append(errs, fmt.Errorf("tunnel %q: peer %q is not an address and there is no resolver", t.Name, t.PeerAddress))
				continue
			}
			if peer, err = resolve(t.PeerAddress); err != nil {
				errs = append(errs, fmt.Errorf("tunnel %q: resolve peer %q: %w", t.Name, t.PeerAddress, err))
				continue
			}
		}
		x := Tunnel{
			Name:  t.Name,
			ReqID: reqids[t.Name],
			Local: t.LocalAddress.Addr,
			Peer:  peer,
			Route: t.Mode == config.ModeRoute,
			IfID:  t.IfID,
			// A site's remote networks may answer through a standby
			// remote: any of its remotes' SAs (they share the reqid).
			AnyPeerInbound: remotes[t.Name] && t.Mode != config.ModeRoute,
		}
		for _, p := range t.LocalNetworks {
			x.LocalNets = append(x.LocalNets, p.Prefix)
		}
		for _, p := range t.RemoteNetworks {
			x.RemoteNets = append(x.RemoteNets, p.Prefix)
		}
		if x.Route {
			for _, p := range t.Routes {
				x.Routes = append(x.Routes, p.Prefix)
			}
		} else {
			x.Routes = x.RemoteNets
		}
		d.Tunnels = append(d.Tunnels, x)
	}
	return d, errors.Join(errs...)
}

// KeepUnresolved copies into d the tunnels of prev that are in names but
// missing from d (their peer did not resolve this time), so a DNS hiccup
// does not remove a tunnel's policies.
func KeepUnresolved(d, prev Desired, names []string) Desired {
	have := map[string]bool{}
	for _, t := range d.Tunnels {
		have[t.Name] = true
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, t := range prev.Tunnels {
		if want[t.Name] && !have[t.Name] {
			d.Tunnels = append(d.Tunnels, t)
		}
	}
	return d
}
