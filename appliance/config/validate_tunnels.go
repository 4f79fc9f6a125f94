package config

import (
	"fmt"
	"net/netip"
)

func validateTunnels(p *problems, ts []Tunnel, r Router, insideOK bool, box []boxNet, keyAt map[string]string) {
	nameAt := map[string]string{}
	ifIDAt := map[uint32]int{}
	// Valid networks of earlier tunnels, for overlap checks.
	var locals, remotes, routes netIndex
	for i, t := range ts {
		base := idx("tunnels", i)
		validateName(p, base, t.Name, "the tunnel", "site-a", nameAt)
		validatePeer(p, fld(base, "peer_address"), t.PeerAddress)
		checkLocalAddress(p, fld(base, "local_address"), t.LocalAddress, t.PeerAddress)

		var myLocals, myRemotes []claimed
		var mine tunnelNets
		for j, n := range t.LocalNetworks {
			f := idx(fld(base, "local_networks"), j)
			n, ok := checkInsideNetwork(p, f, n)
			if !ok {
				continue
			}
			if t.Mode == ModeRoute && n.Bits() == 0 {
				// 0/0 selectors are how route mode is usually set up;
				// the routes decide what enters the tunnel.
				continue
			}
			if b, hit := overlapsBox(n, box); hit {
				p.add(f, "%s overlaps %s", n, b.desc)
				continue
			}
			if c, hit := mine.locals.overlap(n); hit {
				p.add(f, "%s overlaps %s (%s) of the same tunnel", n, c.field, c.prefix)
				continue
			}
			myLocals = append(myLocals, claimed{n, f})
			mine.locals.add(claimed{n, f})
		}
		if len(t.RemoteNetworks) == 0 {
			p.add(fld(base, "remote_networks"), "is empty; list at least one network behind the remote device, like 10.1.0.0/16")
		}
		for j, n := range t.RemoteNetworks {
			f := idx(fld(base, "remote_networks"), j)
			n, ok := checkInsideNetwork(p, f, n)
			if !ok {
				continue
			}
			if msg := remoteOverlap(n, t, &mine, &locals, &remotes, r, box); msg != "" {
				p.add(f, "%s", msg)
				continue
			}
			myRemotes = append(myRemotes, claimed{n, f})
			mine.remotes.add(claimed{n, f})
		}
		for _, c := range myLocals {
			locals.add(c)
		}
		for _, c := range myRemotes {
			remotes.add(c)
		}

		// The router sources its traffic from the inside address; in
		// policy mode only traffic from a local network matches the
		// tunnel's policies.
		if t.Mode == ModePolicy && len(myLocals) == len(t.LocalNetworks) && insideOK {
			if _, hit := mine.locals.containing(r.InsideAddress.Addr); !hit {
				p.add(fld(base, "local_networks"), "none contains the router's inside address %s, so the router's traffic would not enter this tunnel", r.InsideAddress)
			}
		}

		var myRoutes []claimed
		switch t.Mode {
		case ModePolicy:
			if t.IfID != 0 {
				p.add(fld(base, "if_id"), "is only used with mode route")
			}
			if len(t.Routes) > 0 {
				p.add(fld(base, "routes"), "are only used with mode route; in policy mode the remote networks decide what enters the tunnel")
			}
		case ModeRoute:
			if t.IfID == 0 {
				p.add(fld(base, "if_id"), "is missing; route mode needs an xfrm interface id from 1 to 4294967295")
			} else if j, dup := ifIDAt[t.IfID]; dup {
				p.add(fld(base, "if_id"), "%d is already the if_id of tunnels[%d]; each route-mode tunnel needs its own", t.IfID, j)
			} else {
				ifIDAt[t.IfID] = i
			}
			for j, n := range t.Routes {
				f := idx(fld(base, "routes"), j)
				n, ok := checkInsideNetwork(p, f, n)
				if !ok {
					continue
				}
				if b, hit := overlapsBox(n, box); hit {
					p.add(f, "%s overlaps %s", n, b.desc)
				} else if c, hit := routes.overlap(n); hit {
					p.add(f, "%s overlaps %s (%s), routed into another tunnel", n, c.prefix, c.field)
				} else {
					myRoutes = append(myRoutes, claimed{n, f})
				}
			}
		default:
			p.add(fld(base, "mode"), "%q is not a mode; it must be policy or route", t.Mode)
		}

		for _, c := range myRoutes {
			routes.add(c)
		}

		if validateIKE(p, base, "tunnel", t.IKESettings) {
			claimKey(p, base, t.PSK, keyAt)
		}
	}
}

// tunnelNets are the valid networks of the tunnel being checked.
type tunnelNets struct{ locals, remotes netIndex }

// remoteOverlap says what a remote network conflicts with, or "": the
// tunnel's own networks (mine), then those of earlier tunnels.
func remoteOverlap(n netip.Prefix, t Tunnel, mine *tunnelNets, locals, remotes *netIndex, r Router, box []boxNet) string {
	if n.Bits() == 0 {
		if t.Mode == ModeRoute {
			return "" // see the local networks: the routes decide
		}
		return fmt.Sprintf("%s in policy mode would send the box's own traffic into the tunnel; use mode route for a default route", n)
	}
	if c, hit := mine.locals.overlap(n); hit {
		return fmt.Sprintf("%s overlaps the local network %s (%s); the two sides of a tunnel must not overlap", n, c.prefix, c.field)
	}
	if c, hit := mine.remotes.overlap(n); hit {
		return fmt.Sprintf("%s overlaps %s (%s) of the same tunnel", n, c.prefix, c.field)
	}
	if c, hit := remotes.overlap(n); hit {
		return fmt.Sprintf("%s overlaps %s, a remote network of another tunnel (%s); the box could not tell which tunnel to use", n, c.prefix, c.field)
	}
	if c, hit := locals.overlap(n); hit {
		return fmt.Sprintf("%s overlaps %s, a local network of another tunnel (%s)", n, c.prefix, c.field)
	}
	if rng := r.InterceptRange.Prefix; rng.IsValid() && rng.Overlaps(n) {
		return fmt.Sprintf("%s overlaps the router's intercept range %s", n, rng)
	}
	if b, hit := overlapsBox(n, box); hit {
		return fmt.Sprintf("%s overlaps %s", n, b.desc)
	}
	return ""
}

func validatePeer(p *problems, field, peer string) {
	if peer == "" {
		p.add(field, "is missing; give the remote VPN device's public IP address or DNS name")
		return
	}
	if a, err := netip.ParseAddr(peer); err == nil {
		if msg := unicastProblem(a); msg != "" {
			p.add(field, "%s %s", peer, msg)
		}
		return
	}
	if peer == "%any" {
		p.add(field, "%%any is not supported: the firewall admits IKE only from configured peers; give the remote device's address or DNS name")
		return
	}
	if !validDNSName(peer) {
		p.add(field, "%q is neither an IP address nor a DNS name", peer)
	}
}
