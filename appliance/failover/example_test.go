package failover_test

import (
	"context"
	"log"
	"net"
	"net/netip"
	"os"
	"sync"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/failover"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/xfrm"
)

// How init wires sites with several remotes (issue 8), next to the plain
// tunnels of ipsec's example:
//
//   - charon loads every remote of every site (cfg.AllTunnels()): the
//     standbys keep their SAs up, so a failover needs no IKE exchange;
//   - the firewall admits IKE/ESP from every remote's peer (resolve peers
//     from a config whose Tunnels are AllTunnels), and takes the remote
//     networks from cfg.Expand(active) (one entry per network);
//   - XFRM policies come from cfg.Expand(active): only the active remote
//     has policies; the Activator re-applies them when a site moves;
//   - the group decides; alarms, console and syslog listen.
func Example() {
	ctx := context.Background()
	var cfg config.Config // from the store, validated
	cfg = cfg.WithDefaults()
	var client *ipsec.Client // the VICI client of ipsec's example

	all := cfg.AllTunnels()
	reqids := ipsec.ReqIDs(all) // charon and the policies must agree
	if err := client.Apply(all); err != nil {
		log.Printf("ipsec: %v", err)
	}

	h, err := netlink.NewHandle()
	if err != nil {
		log.Fatal(err)
	}
	pol := xfrm.New(h)
	resolve := func(host string) (netip.Addr, error) {
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		if err != nil || len(addrs) == 0 {
			return netip.Addr{}, err
		}
		return addrs[0], nil
	}

	// The activator: one lock with the config apply, which must also use
	// cfg.Expand(active) so a config change never undoes a failover.
	var mu sync.Mutex
	active := map[string]int{}
	activate := failover.ActivatorFunc(func(site string, remote int) error {
		mu.Lock()
		defer mu.Unlock()
		active[site] = remote
		// Same selectors, new template (peer, reqid): xfrm.Apply updates
		// each policy in place (XFRM_MSG_UPDPOLICY), so the remote
		// networks always have a policy and never leave in clear. Routes
		// move to the new peer's next hop after the policies.
		d, err := xfrm.FromConfig(cfg.Expand(active), reqids, resolve)
		if err != nil {
			return err // unresolved peer: retried by the runner
		}
		_, err = pol.Apply(d)
		return err
	})

	alarms := alarm.New(alarm.DefaultHistory)
	alarms.Attach(ctx, alarm.Console(os.Stdout))
	if hp := cfg.System.RemoteSyslog; hp != "" {
		sl := alarm.NewSyslog(hp, cfg.System.Hostname)
		alarms.Attach(ctx, func(c alarm.Change) {
			if err := sl.Send(c); err != nil {
				log.Print(err)
			}
		})
	}

	group := failover.NewGroup(cfg, failover.Options{
		Activator: activate,
		Restarter: failover.IKERestarter{IKE: client},
		OnEvent: func(e failover.Event) {
			log.Print(e) // timestamps for `make bench`: failover/failback gaps
			alarms.FailoverEvent(e)
		},
	})
	go group.Run(ctx) // runs the monitors too, from the inside address

	// charon's view: DPD, deletes and re-established SAs.
	go func() {
		for range client.Changed() {
			group.ObserveTunnels(client.Status())
		}
	}()

	// Status for the overview, console and JSON API:
	_ = group.Status()   // active remote, health, hold-down per remote
	_ = alarms.Active()  // raised alarms with time and reason
	_ = alarms.History() // bounded history
	// "restart ipsec remote" from the web UI, console or API (1-based):
	_ = group.RestartRemote("hq", 2)
}
