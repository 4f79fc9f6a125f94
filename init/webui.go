package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/tunneler/tunneler/appliance/boxapi"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/netconf"
	"github.com/tunneler/tunneler/appliance/opmenu"
	"github.com/tunneler/tunneler/appliance/power"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/webui"
)

const (
	webCertDir    = "/perm/webui"
	webRunCertDir = "/run/tunneler/webui" // without /perm: a new certificate each boot
	webMetricsDir = "/perm/metrics"
	// fallbackLAN is netconf's management fallback address; it goes into
	// the certificate even before the LAN has it.
	fallbackLAN = "192.168.77.1"
	// webRebindEvery is how often the listeners follow the management
	// addresses (DHCP, fallback, console edits).
	webRebindEvery = 2 * time.Second
)

// webCert is made once per boot, before the banner shows its fingerprint.
type webCert struct {
	once sync.Once
	cert tls.Certificate
	fp   string
	err  error
}

// webFingerprint makes (first boot) or loads the web UI's certificate and
// returns its fingerprint for the banner.
func (b *box) webFingerprint() string {
	b.web.once.Do(func() {
		dir := webRunCertDir
		if b.perm.Mounted {
			dir = webCertDir
		}
		hosts := []string{fallbackLAN}
		for _, a := range b.mgmtAddrs() {
			hosts = append(hosts, a.String())
		}
		b.web.cert, b.web.err = webui.LoadOrCreateCert(dir, hosts...)
		if b.web.err == nil {
			b.web.fp = webui.Fingerprint(b.web.cert)
		}
	})
	return b.web.fp
}

// serveWebUI is boot step 11's web half: HTTPS on the management side's
// addresses only, HTTP there redirecting to it.
func (b *box) serveWebUI() {
	b.webFingerprint()
	if b.web.err != nil {
		b.problem("web UI: certificate: %v", b.web.err)
		return
	}
	api := boxapi.New(boxapi.Deps{
		Store: b.webStore(),
		Apply: b.applyChange,
		Tunnels: func() boxapi.Tunnels {
			if c := b.ipsecClient(); c != nil {
				return c
			}
			return nil
		},
		Units: func() []*supervise.Unit {
			if b.sup == nil {
				return nil
			}
			return b.sup.Units()
		},
		SystemLog: b.logs.Lines,
		Router:    b.webRouterStatus,

		EnrollRouter:   b.enrollRouter, // the Router page (webui.RouterAdmin)
		UnenrollRouter: b.unenrollRouter,

		SetupCode: b.currentSetupCode,
		SetupDone: b.leaveSetupMode,
		Reboot:    func(reason string) { b.requests.Ask(power.Reboot, reason) },
		PowerOff:  func(reason string) { b.requests.Ask(power.PowerOff, reason) },
		FactoryReset: func() error {
			if b.store == nil {
				return fmt.Errorf("/perm is not mounted: there is no config store to erase")
			}
			if err := opmenu.Wipe(b.store.Dir); err != nil {
				return err
			}
			b.log.Info("web UI: factory reset: config store erased")
			b.requests.Ask(power.Reboot, "factory reset")
			return nil
		},
		RestartCharon: func(ctx context.Context) error {
			if b.sup == nil || b.sup.Unit("charon") == nil {
				return fmt.Errorf("charon is not running")
			}
			return b.sup.Unit("charon").Restart(ctx)
		},
		Firewall:     readFirewallCounters,
		Problems:     b.problemLines,
		Provisioning: b.provision,
		Version:      version,
		Logf:         func(format string, args ...any) { b.log.Info(fmt.Sprintf(format, args...)) },
		Sites: func() boxapi.Sites { // init/failover.go
			if g := b.siteGroup(); g != nil {
				return g
			}
			return nil
		},
		Alarms: b.alarmManager,
	})
	metricsDir := ""
	if b.perm.Mounted {
		metricsDir = webMetricsDir
	}
	var fw webui.Firmware // a nil *update.Firmware must stay a nil interface
	if b.firmware != nil {
		fw = b.firmware
	}
	srv, err := webui.New(webui.Options{Box: api, MetricsDir: metricsDir, Version: version, Firmware: fw,
		Logf: func(format string, args ...any) { b.log.Info(fmt.Sprintf(format, args...)) }})
	if err != nil {
		b.problem("web UI: %v", err)
		return
	}
	go b.bindWebUI(srv)
}

// webStore is nil (not a nil *config.Store in an interface) without /perm.
func (b *box) webStore() boxapi.Store {
	if b.store == nil {
		return nil
	}
	return b.store
}

// bindWebUI listens on the management addresses and follows them as they
// change. It binds the addresses themselves, not 0.0.0.0: then a WAN
// address never has a listener, whatever the firewall holds at the time
// (default deny during boot, a ruleset being replaced).
func (b *box) bindWebUI(srv *webui.Server) {
	var cur []netip.Addr
	var cancel context.CancelFunc
	ended := make(chan error, 1)
	serving := false
	for {
		select {
		case err := <-ended:
			serving = false
			b.log.Warn("web UI stopped; binding again", "err", err)
			cur = nil
		default:
		}
		addrs := b.mgmtAddrs()
		if !serving || !slices.Equal(addrs, cur) {
			if serving {
				cancel()
				<-ended
				serving = false
			}
			cur = addrs
			if len(addrs) > 0 {
				var https, http []string
				for _, a := range addrs {
					https = append(https, net.JoinHostPort(a.String(), "443"))
					http = append(http, net.JoinHostPort(a.String(), "80"))
				}
				var ctx context.Context
				ctx, cancel = context.WithCancel(context.Background())
				serving = true
				go func() { ended <- srv.Serve(ctx, b.web.cert, https, http) }()
				b.log.Info("web UI listening", "https", fmt.Sprint(https), "fingerprint", b.web.fp)
			}
		}
		time.Sleep(webRebindEvery)
	}
}

// mgmtAddrs are the addresses of the management side: the LAN NIC's, or
// with a single NIC the shared WAN NIC's (the firewall then limits the web
// ports to the allowed sources and refuses the peers). IPv6 link-local
// addresses are left out: they need a zone and DHCP never gives them.
func (b *box) mgmtAddrs() []netip.Addr {
	if b.net == nil {
		return nil
	}
	st, err := b.net.Status()
	if err != nil {
		return nil
	}
	var lan, shared []netip.Addr
	for _, i := range st.Interfaces {
		for _, p := range i.Addresses {
			a := p.Addr()
			if a.IsLinkLocalUnicast() || a.IsLoopback() {
				continue
			}
			switch {
			case i.Role == netconf.RoleLAN:
				lan = append(lan, a)
			case i.Role == netconf.RoleWAN && i.Shared:
				shared = append(shared, a)
			}
		}
	}
	out := lan
	if len(out) == 0 {
		out = shared
	}
	slices.SortFunc(out, func(x, y netip.Addr) int { return x.Compare(y) })
	return slices.Compact(out)
}

// leaveSetupMode: a config with an admin password was saved, so the
// setup code stops working and leaves the console.
func (b *box) leaveSetupMode() {
	b.mu.Lock()
	was := b.setupMode
	b.setupMode, b.setupCode = false, ""
	b.mu.Unlock()
	os.Remove(setupCodeFile)
	if was {
		b.log.Info("setup done from the web UI; the setup code no longer works")
	}
}

var _ boxapi.Tunnels = (*ipsec.Client)(nil)

// webRouterStatus puts the router's state (init/router.go) in the web
// UI's words.
func (b *box) webRouterStatus() webui.RouterStatus {
	rs := b.routerStatus()
	st := webui.RouterStatus{State: rs.State, Enrolled: rs.Enrolled, Detail: rs.Detail}
	switch {
	case !rs.Enrolled && b.router != nil:
		st.State = "not enrolled"
	case rs.Connected:
		st.State = "running"
	}
	if st.Detail == st.State {
		st.Detail = "" // the page would say "not enrolled: not enrolled"
	}
	return st
}

// readFirewallCounters is what the web UI, /metrics and the console
// status show of the firewall: every rule's counter, read back each time.
func readFirewallCounters() ([]firewall.RuleCounter, error) {
	conn, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("firewall counters: netlink: %w", err)
	}
	return firewall.RuleCounters(conn)
}
