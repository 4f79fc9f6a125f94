package config

import (
	"net"
	"net/netip"
	"strconv"
	"time"
)

func validateProfiles(p *problems, ps []Profile, keyAt map[string]string) {
	nameAt := map[string]string{}
	for i, pr := range ps {
		base := idx("profiles", i)
		validateName(p, base, pr.Name, "the profile", "fortigate-hq", nameAt)
		// Remotes sharing a profile share its key on purpose; two profiles
		// with one key, or a profile reusing a tunnel's key, are a mistake.
		if validateIKE(p, base, "profile", pr.IKESettings) {
			claimKey(p, base, pr.PSK, keyAt)
		}
	}
}

// validateSites checks sites on a document with defaults applied.
func validateSites(p *problems, c Config, insideOK bool, box []boxNet) {
	tunnelAt := map[string]int{}
	var taken netIndex // remote networks of tunnels and earlier sites
	for i, t := range c.Tunnels {
		tunnelAt[t.Name] = i
		for j, n := range t.RemoteNetworks {
			if n.IsValid() && n.Bits() > 0 {
				taken.add(claimed{n.Masked(), idx(fld(idx("tunnels", i), "remote_networks"), j)})
			}
		}
	}
	nameAt := map[string]int{}
	peerAt := map[string]string{}
	profiles := map[string]bool{}
	for _, pr := range c.Profiles {
		profiles[pr.Name] = true
	}
	for i, s := range c.Sites {
		base := idx("sites", i)
		switch {
		case s.Name == "":
			p.add(fld(base, "name"), "is missing; give the site a short name like hq")
		case !validName(s.Name) || len(s.Name) > 60:
			p.add(fld(base, "name"), "%q is not a valid site name: use lower-case letters, digits and '-', start with a letter, at most 60 characters", s.Name)
		default:
			if j, dup := nameAt[s.Name]; dup {
				p.add(fld(base, "name"), "%q is already the name of sites[%d]; names must be unique", s.Name, j)
				break
			}
			nameAt[s.Name] = i
			for r := range s.Remotes {
				if j, hit := tunnelAt[RemoteTunnelName(s.Name, r)]; hit {
					p.add(fld(base, "name"), "%q would name its remote %d %q, already the name of tunnels[%d]", s.Name, r+1, RemoteTunnelName(s.Name, r), j)
					break
				}
			}
		}

		var locals netIndex
		for j, n := range s.LocalNetworks {
			f := idx(fld(base, "local_networks"), j)
			if n, ok := checkInsideNetwork(p, f, n); ok {
				if b, hit := overlapsBox(n, box); hit {
					p.add(f, "%s overlaps %s", n, b.desc)
					continue
				}
				locals.add(claimed{n, f})
			}
		}
		if locals.n == len(s.LocalNetworks) && insideOK {
			if _, hit := locals.containing(c.Router.InsideAddress.Addr); !hit {
				p.add(fld(base, "local_networks"), "none contains the router's inside address %s, so the router's traffic would not enter this site's tunnels", c.Router.InsideAddress)
			}
		}
		if len(s.RemoteNetworks) == 0 {
			p.add(fld(base, "remote_networks"), "is empty; list at least one network behind the remote site, like 10.1.0.0/16")
		}
		var remotes netIndex // this site's, to check its own and its monitors
		var siteRemotes []claimed
		for j, n := range s.RemoteNetworks {
			f := idx(fld(base, "remote_networks"), j)
			n, ok := checkInsideNetwork(p, f, n)
			if !ok {
				continue
			}
			if n.Bits() == 0 {
				p.add(f, "%s would send the box's own traffic into the site's tunnels", n)
				continue
			}
			if c2, hit := locals.overlap(n); hit {
				p.add(f, "%s overlaps the local network %s (%s); the two sides of a tunnel must not overlap", n, c2.prefix, c2.field)
				continue
			}
			if c2, hit := remotes.overlap(n); hit {
				p.add(f, "%s overlaps %s (%s) of the same site", n, c2.prefix, c2.field)
				continue
			}
			if c2, hit := taken.overlap(n); hit {
				p.add(f, "%s overlaps %s (%s); the box could not tell which tunnel to use", n, c2.prefix, c2.field)
				continue
			}
			if rng := c.Router.InterceptRange.Prefix; rng.IsValid() && rng.Overlaps(n) {
				p.add(f, "%s overlaps the router's intercept range %s", n, rng)
				continue
			}
			if b, hit := overlapsBox(n, box); hit {
				p.add(f, "%s overlaps %s", n, b.desc)
				continue
			}
			remotes.add(claimed{n, f})
			siteRemotes = append(siteRemotes, claimed{n, f})
		}
		for _, c := range siteRemotes {
			taken.add(c)
		}

		if len(s.Remotes) == 0 {
			p.add(fld(base, "remotes"), "is empty; list 1 to %d remote VPN devices, most preferred first", MaxRemotes)
		}
		for j, r := range s.Remotes {
			rb := idx(fld(base, "remotes"), j)
			n := len(p.list)
			validatePeer(p, fld(rb, "peer_address"), r.PeerAddress)
			if len(p.list) == n {
				if where, dup := peerAt[r.PeerAddress]; dup {
					p.add(fld(rb, "peer_address"), "%s is already the peer of %s; each remote is a different device or link", r.PeerAddress, where)
				} else {
					peerAt[r.PeerAddress] = rb
				}
			}
			switch {
			case r.Profile == "":
				p.add(fld(rb, "profile"), "is missing; name one of the profiles")
			case !profiles[r.Profile]:
				p.add(fld(rb, "profile"), "%q is not the name of a profile", r.Profile)
			}
			checkLocalAddress(p, fld(rb, "local_address"), r.LocalAddress, r.PeerAddress)
			if r.MonitorTarget != "" {
				validateTarget(p, fld(rb, "monitor_target"), s.Monitor.Type, r.MonitorTarget, &remotes)
			}
		}
		checkDuration(p, fld(base, "hold_down"), s.HoldDown, time.Second, time.Hour)
		checkDuration(p, fld(base, "restart_grace"), s.RestartGrace, 100*time.Millisecond, time.Minute)
		validateMonitor(p, fld(base, "monitor"), s.Monitor, &remotes)
	}
	for _, t := range c.Tunnels {
		if where, dup := peerAt[t.PeerAddress]; dup {
			p.add(fld(where, "peer_address"), "%s is already the peer of tunnel %q", t.PeerAddress, t.Name)
		}
	}
}

func validateMonitor(p *problems, base string, m Monitor, remotes *netIndex) {
	switch m.Type {
	case "", MonitorICMP, MonitorTCP:
	default:
		p.add(fld(base, "type"), "%q is not a monitor type; it must be icmp or tcp", m.Type)
		return
	}
	if m.Target != "" {
		validateTarget(p, fld(base, "target"), m.Type, m.Target, remotes)
	}
	switch {
	case !m.Source.IsValid():
		p.add(fld(base, "source"), "%q is not an IP address", m.Source.String())
	case unicastProblem(m.Source.Addr) != "":
		p.add(fld(base, "source"), "%s %s", m.Source, unicastProblem(m.Source.Addr))
	}
	iv := checkDuration(p, fld(base, "interval"), m.Interval, 200*time.Millisecond, 10*time.Minute)
	if checkDuration(p, fld(base, "timeout"), m.Timeout, 100*time.Millisecond, time.Minute) && iv && m.Timeout.D > m.Interval.D {
		p.add(fld(base, "timeout"), "%s is longer than the interval (%s); a probe must end before the next one starts", m.Timeout, m.Interval)
	}
	if m.Retries < 1 || m.Retries > 20 {
		p.add(fld(base, "retries"), "%d is outside the range 1 to 20", m.Retries)
	}
}

// validateTarget checks a monitor target: an address (icmp) or
// address:port (tcp) inside the site's remote networks, so the probe can
// only succeed through the tunnel.
func validateTarget(p *problems, field string, typ MonitorType, target string, remotes *netIndex) {
	host := target
	if typ == MonitorTCP {
		h, port, err := net.SplitHostPort(target)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 1 || n > 65535 {
			p.add(field, "%q is not address:port (like 10.1.0.10:443), which a tcp monitor needs", target)
			return
		}
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		p.add(field, "%q is not an IP address", host)
		return
	}
	if _, hit := remotes.containing(a); !hit && remotes.n > 0 {
		p.add(field, "%s is not in the site's remote networks, so the probe would not go through the tunnel", a)
	}
}
