package ipsec_test

import (
	"context"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/xfrm"
)

// How init wires IPsec (boot step 8 and 9): XFRM policies first, so the
// remote networks are fail-closed before charon ever runs; then charon
// under the supervisor, and the VICI client that loads the tunnels and
// reloads them into every new charon.
func Example() {
	ctx := context.Background()
	var cfg config.Config // from the store
	cfg = cfg.WithDefaults()

	// Step 8: policies and routes. Re-run on every config change and when
	// the WAN address changes (policy-mode routes follow the peer's next hop).
	h, err := netlink.NewHandle()
	if err != nil {
		log.Fatal(err)
	}
	reqids := ipsec.ReqIDs(cfg.Tunnels)
	resolve := func(host string) (netip.Addr, error) {
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		if err != nil || len(addrs) == 0 {
			return netip.Addr{}, err
		}
		return addrs[0], nil
	}
	desired, err := xfrm.FromConfig(cfg, reqids, resolve)
	if err != nil {
		log.Printf("xfrm: %v", err) // unresolved peers: retry later
	}
	pol := xfrm.New(h)
	if _, err := pol.Apply(desired); err != nil {
		log.Printf("xfrm: %v", err)
	}

	// Step 9: charon. The supervisor restarts it; the client notices and
	// reloads. The box's kernel has ESP, so no kernel-libipsec.
	reaper := supervise.NewReaper(nil)
	sup, err := supervise.New(supervise.Options{Reaper: reaper, LogDir: "/perm/log"})
	if err != nil {
		log.Fatal(err)
	}
	ike, err := ipsec.NewRunner(sup, ipsec.RunnerOptions{
		Client: ipsec.Options{Logf: log.Printf},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := ike.Client.Apply(cfg.Tunnels); err != nil {
		log.Printf("ipsec: %v", err) // field errors were caught by Validate
	}
	sup.StartAll()
	go ike.Client.Run(ctx)

	// Status for the web UI, console and metrics; Changed wakes a watcher.
	for range ike.Client.Changed() {
		for _, st := range ike.Client.Status() {
			log.Printf("%s: %s %s (up since %s)", st.Name, st.Colour, st.Reason, st.Established.Format(time.RFC3339))
		}
	}

	// Actions from the web UI:
	_ = ike.Client.Reconnect("site-a")           // reconnect a tunnel
	_ = ike.Unit.Restart(ctx)                    // restart charon
	_ = ike.Client.Rekey("site-a", false, false) // rekey the CHILD_SA
	cfg.Tunnels = cfg.Tunnels[:0]                // delete a tunnel:
	_ = ike.Client.Apply(cfg.Tunnels)            //   unload it from charon,
	desired, _ = xfrm.FromConfig(cfg, ipsec.ReqIDs(cfg.Tunnels), resolve)
	_, _ = pol.Apply(desired) //   then drop its policies and routes
}
