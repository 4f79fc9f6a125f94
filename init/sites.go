package main

import (
	"github.com/tunneler/tunneler/appliance/opmenu"
	"github.com/tunneler/tunneler/appliance/sites"
)

// newSites makes the boot's tunnels and sites (appliance/sites): XFRM
// policies, charon under the supervisor, failover and alarms.
func (b *pid1) newSites() *sites.Manager {
	return sites.New(sites.Kernel(b.sup, sites.Options{
		Log:      b.log,
		LocalLog: b.localLog,
		Problem:  func(msg string) { b.problem("%s", msg) },
	}))
}

// startIPsec runs after the banner: nothing can leak meanwhile (see
// sites.Manager.Start).
func (b *pid1) startIPsec() {
	if testBreak == "charon" {
		b.log.Warn("this firmware was built broken on purpose for a rollback test (mkimage -test-break charon): charon is never started")
		return
	}
	cfg := b.cfg.WithDefaults()
	b.sites.Start(cfg)
	if len(cfg.AllTunnels()) > 0 { // the inside address is on lo now
		b.startTCPEcho(cfg.Router.InsideAddress.Addr)
	}
}

// siteMenu is the console menu's view of the sites (opmenu.SiteItems).
func (b *pid1) siteMenu() *opmenu.Sites {
	return &opmenu.Sites{Status: b.sites.Sites, Alarms: b.sites.Alarms, RestartRemote: b.sites.RestartRemote}
}
