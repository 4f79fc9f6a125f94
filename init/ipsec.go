package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/xfrm"
)

// ipsecState is what boot steps 8 and 9 leave running: the box's own XFRM
// policies and charon with its VICI client.
type ipsecState struct {
	policies *xfrm.Manager
	runner   *ipsec.Runner
	reqids   map[string]uint32 // of cfg.AllTunnels(): charon's and the policies'
	// cfg is the config applied last (defaults applied); active maps each
	// site to the remote that carries it (init/failover.go). Policies are
	// always those of cfg.Expand(active), under ipsecCtl.mu once running.
	cfg    config.Config
	active map[string]int
}

// installPolicies is boot step 8's IPsec half: the box's XFRM policies go
// in before charon ever runs, so traffic for a remote network is dropped,
// never sent in clear, until an SA exists.
func (b *box) installPolicies(cfg config.Config) *ipsecState {
	h, err := netlink.NewHandle()
	if err != nil {
		b.problem("ipsec: netlink: %v", err)
		return nil
	}
	st := &ipsecState{policies: xfrm.New(h), reqids: ipsec.ReqIDs(cfg.AllTunnels()), active: map[string]int{}}
	st.apply(b, cfg)
	return st
}

// apply installs cfg's policies, each site on its active remote.
func (st *ipsecState) apply(b *box, cfg config.Config) {
	st.cfg = cfg
	if err := st.install(b); err != nil {
		b.problem("ipsec policies: %v", err)
	}
}

// install makes the kernel's policies those of st.cfg.Expand(st.active).
func (st *ipsecState) install(b *box) error {
	resolve := func(host string) (netip.Addr, error) {
		addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip4", host)
		if err != nil {
			return netip.Addr{}, err
		}
		if len(addrs) == 0 {
			return netip.Addr{}, fmt.Errorf("%s has no IPv4 address", host)
		}
		return addrs[0], nil
	}
	desired, err := xfrm.FromConfig(st.cfg.Expand(st.active), st.reqids, resolve)
	if err != nil {
		b.log.Warn("ipsec policies", "err", err)
	}
	if _, err := st.policies.Apply(desired); err != nil {
		return err
	}
	b.log.Info("ipsec policies installed", "tunnels", len(desired.Tunnels))
	return nil
}

// startCharon is boot step 9: charon under the supervisor, and the VICI
// client that loads the tunnels into it and into every charon after a
// restart.
func (b *box) startCharon(st *ipsecState, cfg config.Config) {
	if st == nil || b.sup == nil {
		return
	}
	r, err := ipsec.NewRunner(b.sup, ipsec.RunnerOptions{
		Client: ipsec.Options{Logf: func(format string, args ...any) { b.log.Info("ipsec: " + fmt.Sprintf(format, args...)) }},
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
		b.problem("ipsec: %v", err)
		return
	}
	st.runner = r
	// Every remote of every site too: standbys keep their SAs up.
	if err := r.Client.Apply(cfg.AllTunnels()); err != nil {
		b.problem("ipsec: %v", err)
	}
	if err := r.Unit.Start(); err != nil {
		b.problem("ipsec: start charon: %v", err)
		return
	}
	go r.Client.Run(context.Background())
	go b.reportTunnels(r.Client)
}

// reportTunnels logs every change of a tunnel's colour or reason, so the
// console says when a tunnel comes up, goes down, and why.
func (b *box) reportTunnels(c *ipsec.Client) {
	last := map[string]string{}
	for range c.Changed() {
		for _, t := range c.Status() {
			now := fmt.Sprintf("%s %s", t.Colour, t.Reason)
			if last[t.Name] == now {
				continue
			}
			last[t.Name] = now
			b.log.Info("tunnel", "name", t.Name, "status", t.Colour, "reason", t.Reason)
		}
		b.observeTunnels(c) // DPD, deletes, new SAs: to the sites' failover
	}
}

// startIPsec runs after the banner: the IPsec kernel modules (crypto, ESP,
// xfrm_user) take seconds under emulation, and nothing can leak meanwhile:
// forwarding is dropped and the router, the only local sender toward the
// remote networks, starts after the policies are in.
func (b *box) startIPsec() {
	b.loadLateModules()
	cfg := b.cfg.WithDefaults()
	if len(cfg.AllTunnels()) == 0 {
		b.attachAlarmSyslog(cfg)
		b.keepIPsec(nil) // a config saved later starts charon (applyIPsec)
		return
	}
	b.addInsideAddress(cfg.Router.InsideAddress.Addr)
	b.startTCPEcho(cfg.Router.InsideAddress.Addr)
	st := b.installPolicies(cfg)
	b.startCharon(st, cfg)
	b.startSites(st, cfg)
	b.keepIPsec(st)
}

// addInsideAddress puts the bridge's inside address on lo (scope host): the
// remote site pings it and asks it for DNS, and routes to the remote
// networks use it as their source so replies match the tunnel's policies.
func (b *box) addInsideAddress(a netip.Addr) {
	if !a.IsValid() {
		return
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		b.problem("inside address: %v", err)
		return
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}, Scope: int(netlink.SCOPE_HOST)}
	if err := netlink.AddrReplace(lo, addr); err != nil {
		b.problem("inside address %s on lo: %v", a, err)
		return
	}
	b.log.Info("inside address on lo", "addr", a.String())
}
