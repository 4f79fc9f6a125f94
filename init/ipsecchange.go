package main

import (
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// ipsecCtl holds what startIPsec left running, so a config saved later
// (web UI setup, tunnel edits, the console) reaches the XFRM policies and
// charon: the first tunnel saved after setup mode starts charon.
type ipsecCtl struct {
	mu    sync.Mutex
	st    *ipsecState // nil until a config with tunnels was applied
	ready chan struct{}
	once  sync.Once
}

func (c *ipsecCtl) readyCh() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready == nil {
		c.ready = make(chan struct{})
	}
	return c.ready
}

// keepIPsec is called by startIPsec once the late modules are loaded and
// the boot config's tunnels (if any) are running.
func (b *box) keepIPsec(st *ipsecState) {
	ch := b.ipsecCtl.readyCh()
	b.ipsecCtl.mu.Lock()
	b.ipsecCtl.st = st
	b.ipsecCtl.mu.Unlock()
	b.ipsecCtl.once.Do(func() { close(ch) })
}

// ipsecClient is charon's VICI client, nil while charon does not run.
func (b *box) ipsecClient() *ipsec.Client {
	b.ipsecCtl.mu.Lock()
	defer b.ipsecCtl.mu.Unlock()
	if b.ipsecCtl.st == nil || b.ipsecCtl.st.runner == nil {
		return nil
	}
	return b.ipsecCtl.st.runner.Client
}

// applyIPsec makes the XFRM policies and charon follow c's tunnels. It
// waits for startIPsec: before it, the crypto modules are not loaded.
func (b *box) applyIPsec(c config.Config) {
	select {
	case <-b.ipsecCtl.readyCh():
	case <-time.After(2 * time.Minute):
		b.log.Warn("ipsec: boot has not started IPsec; the saved tunnels apply at the next boot")
		return
	}
	b.ipsecCtl.mu.Lock()
	defer b.ipsecCtl.mu.Unlock()
	cfg := c.WithDefaults()
	st := b.ipsecCtl.st
	all := cfg.AllTunnels()
	if st == nil {
		if len(all) == 0 {
			b.attachAlarmSyslog(cfg)
			return
		}
		b.addInsideAddress(cfg.Router.InsideAddress.Addr)
		st = b.installPolicies(cfg)
		b.startCharon(st, cfg)
		b.ipsecCtl.st = st
		b.startSites(st, cfg)
		return
	}
	// New sites (or profiles) start on their preferred remotes; unchanged
	// ones keep running, and stay on their active remote (st.active).
	restart := b.sitesChanged(cfg) || st.runner == nil
	if restart {
		b.stopSites()
		st.active = map[string]int{}
	}
	st.reqids = ipsec.ReqIDs(all)
	st.apply(b, cfg)
	if st.runner == nil {
		b.startCharon(st, cfg)
	} else if err := st.runner.Client.Apply(all); err != nil {
		b.log.Warn("ipsec: apply tunnels", "err", err)
	}
	if restart {
		b.startSites(st, cfg)
	} else {
		b.attachAlarmSyslog(cfg)
	}
}
