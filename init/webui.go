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
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
	"github.com/tunneler/tunneler/appliance/diag"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/netconf"
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

// webCert is made once per boot, before the banner shows its fingerprint;
// an operator's upload replaces it (mu guards cert and fp from then on).
type webCert struct {
	once sync.Once
	mu   sync.Mutex
	cert tls.Certificate
	fp   string
	err  error
}

// webFingerprint makes (first boot) or loads the web UI's certificate and
// returns its fingerprint for the banner.
func (b *pid1) webFingerprint() string {
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
	b.web.mu.Lock()
	defer b.web.mu.Unlock()
	return b.web.fp
}

// webCertChanged takes the operator's uploaded certificate: rebinds serve
// it, and the console says its fingerprint at once.
func (b *pid1) webCertChanged(c tls.Certificate) {
	fp := webui.Fingerprint(c)
	b.web.mu.Lock()
	b.web.cert, b.web.fp = c, fp
	b.web.mu.Unlock()
	b.log.Info("web UI certificate replaced by the operator's", "fingerprint", fp)
	b.printBanner()
}

// serveWebUI is boot step 11's web half: HTTPS on the management side's
// addresses only, HTTP there redirecting to it.
func (b *pid1) serveWebUI() {
	b.webFingerprint()
	if b.web.err != nil {
		b.problem("web UI: certificate: %v", b.web.err)
		return
	}
	metricsDir := ""
	if b.perm.Mounted {
		metricsDir = webMetricsDir
	}
	var fw webui.Firmware // a nil *update.Firmware must stay a nil interface
	if b.firmware != nil {
		fw = b.firmware
	}
	certDir := "" // without /perm an uploaded certificate would not survive a reboot
	if b.perm.Mounted {
		certDir = webCertDir
	}
	dg := &diag.Runner{Config: func() config.Config { c, _ := b.owner.Applied(); return c }, WAN: b.wanIfaces}
	srv, err := webui.New(webui.Options{Appliance: b.owner, MetricsDir: metricsDir, Version: version, Firmware: fw, Diag: dg,
		CertDir: certDir, CertChanged: b.webCertChanged,
		Logf: func(format string, args ...any) { b.log.Info(fmt.Sprintf(format, args...)) }})
	if err != nil {
		b.problem("web UI: %v", err)
		return
	}
	go b.bindWebUI(srv)
}

// bindWebUI listens on the management addresses and follows them as they
// change. It binds the addresses themselves, not 0.0.0.0: then a WAN
// address never has a listener, whatever the firewall holds at the time
// (default deny during boot, a ruleset being replaced).
func (b *pid1) bindWebUI(srv *webui.Server) {
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
				b.web.mu.Lock()
				cert, fp := b.web.cert, b.web.fp
				b.web.mu.Unlock()
				go func() { ended <- srv.Serve(ctx, cert, https, http) }()
				b.log.Info("web UI listening", "https", fmt.Sprint(https), "fingerprint", fp)
				// The banner says where the web UI is: a LAN lease
				// usually arrives after it was first printed.
				b.printBanner()
			}
		}
		time.Sleep(webRebindEvery)
	}
}

// mgmtAddrs are the addresses of the management side
// (netconf.Status.ManagementAddrs), nil before the network is up.
func (b *pid1) mgmtAddrs() []netip.Addr {
	if b.net == nil {
		return nil
	}
	st, err := b.net.Status()
	if err != nil {
		return nil
	}
	return st.ManagementAddrs()
}

// wanIfaces names the WAN interfaces, for captures (appliance/diag).
func (b *pid1) wanIfaces() []string {
	if b.net == nil {
		return nil
	}
	st, err := b.net.Status()
	if err != nil {
		return nil
	}
	var out []string
	for _, i := range st.Interfaces {
		if i.Role == netconf.RoleWAN {
			out = append(out, i.Name)
		}
	}
	return out
}

// leaveSetupMode: a config with an admin password was saved, so the
// setup code stops working and leaves the console.
func (b *pid1) leaveSetupMode() {
	b.mu.Lock()
	was := b.setupMode
	b.setupMode, b.setupCode = false, ""
	b.mu.Unlock()
	os.Remove(setupCodeFile)
	if was {
		b.log.Info("setup done from the web UI; the setup code no longer works")
	}
}

var _ control.Tunnels = (*ipsec.Client)(nil)

// webRouterStatus puts the router's state in the web UI's words.
func (b *pid1) webRouterStatus() control.RouterStatus {
	rs := b.router.Status()
	state, detail := rs.Summary()
	return control.RouterStatus{State: state, Enrolled: rs.Enrolled, Detail: detail}
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
