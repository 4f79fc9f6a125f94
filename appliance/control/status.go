package control

import (
	"os"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/liveness"
	"github.com/tunneler/tunneler/appliance/sysinfo"
)

// Status is a snapshot of the configured tunnels, the router and the box.
func (o *Owner) Status() Status {
	now := o.d.Now()
	st := Status{Time: now, Router: RouterStatus{State: "not enrolled"}}
	if o.d.Router != nil {
		st.Router = o.d.Router()
	}
	// The newest saved config: a tunnel just saved is listed (gray, "not
	// loaded yet") while its apply runs.
	c, _, _ := o.stored()
	c = c.WithDefaults()
	var live []ipsec.TunnelStatus
	running := false
	if o.d.Tunnels != nil {
		if cl := o.d.Tunnels(); cl != nil {
			live, running = cl.Status(), true
			if cc, ok := cl.(charonConns); ok {
				st.CharonConns = cc.CharonConns()
			}
		}
	}
	byName := make(map[string]ipsec.TunnelStatus, len(live))
	for _, s := range live {
		byName[s.Name] = s
	}
	// Every remote of every site is a tunnel of charon's too: the IPsec
	// page, /metrics and the graphs show them like tunnels.
	siteOf := map[string]string{}
	for _, site := range c.Sites {
		for i := range site.Remotes {
			siteOf[config.RemoteTunnelName(site.Name, i)] = site.Name
		}
	}
	var tracker *liveness.Tracker
	if o.d.Liveness != nil {
		tracker = o.d.Liveness()
	}
	all := c.AllTunnels()
	st.Tunnels = make([]TunnelStatus, 0, len(all))
	for _, t := range all {
		s, ok := byName[t.Name]
		var lt liveness.Tunnel
		if tracker != nil {
			lt, _ = tracker.Tunnel(t.Name)
		}
		ts := tunnelStatus(t, s, lt, now)
		ts.ESPSilent = lt.Silent(now, o.d.ESPSilence)
		ts.Site = siteOf[t.Name]
		if !ok {
			ts.Colour, ts.Reason = Gray, "charon has not loaded this tunnel yet"
			if !running {
				ts.Reason = "charon is not running yet"
			}
		}
		st.Tunnels = append(st.Tunnels, ts)
	}
	st.Certificates = CertificatesStatus(c, now) // certs.go
	if o.d.Alarms != nil {
		certAlarms(o.d.Alarms(), st.Certificates, now)
	}
	o.sitesAndAlarms(&st, c, byName) // sites.go
	st.System = o.system()
	st.Interfaces = o.interfaces()
	st.Trial = o.Trial()
	if o.d.Firewall != nil {
		rcs, err := o.d.Firewall()
		if err != nil {
			st.FirewallError = err.Error()
		}
		st.Firewall = firewallCounters(rcs)
	}
	var lines []string
	if o.d.Problems != nil {
		lines = o.d.Problems()
	}
	st.Problems = bootProblems(lines, o.d.Provisioning)
	return st
}

// tunnelStatus translates charon's view of one tunnel (from the VICI
// client) and its ESP liveness into the web UI's. Times charon gives as
// "in N seconds" become moments from now.
func tunnelStatus(t config.Tunnel, s ipsec.TunnelStatus, lt liveness.Tunnel, now time.Time) TunnelStatus {
	ts := TunnelStatus{Name: t.Name, PeerAddress: t.PeerAddress, Reason: s.Reason,
		Mismatch: s.Explained, NAT: s.NATSeen, VendorIDs: s.VendorIDs, WeakCrypto: t.WeakCrypto()}
	for _, n := range t.RemoteNetworks {
		ts.RemoteNetworks = append(ts.RemoteNetworks, n.String())
	}
	// One colour for every surface: charon's client decides it (never up:
	// gray; was up, now down: orange; up: green), the console and the
	// banner show the same.
	ts.Colour = colour(s.Colour)
	if ts.Colour == Green {
		ts.Reason, ts.Mismatch = "", nil
	}
	// Liveness is what arrives, not what IKE says: the last inbound ESP
	// packet, kept across rekeys.
	ts.LastHeartbeat = lt.LastInbound
	at := func(d time.Duration) time.Time {
		if d <= 0 {
			return time.Time{}
		}
		return now.Add(d).Truncate(time.Second)
	}
	ts.IKE = IKESA{State: s.IKEState, Established: s.Established, Version: s.IKEVersion,
		LocalAddr: s.LocalHost, RemoteAddr: s.RemoteHost,
		Encryption: s.IKEAlgorithms.Encryption, Integrity: s.IKEAlgorithms.Integrity,
		PRF: s.IKEAlgorithms.PRF, DHGroup: s.IKEAlgorithms.DHGroup,
		NATLocal: s.NATLocal, NATRemote: s.NATRemote, RekeyAt: at(s.IKERekeyIn)}
	for _, ch := range s.Children {
		ts.BytesIn += ch.BytesIn
		ts.BytesOut += ch.BytesOut
		ts.PacketsIn += ch.PacketsIn
		ts.PacketsOut += ch.PacketsOut
		ts.Children = append(ts.Children, ChildSA{Name: ch.Name, State: ch.State,
			SPIIn: ch.SPIIn, SPIOut: ch.SPIOut, LocalTS: ch.LocalTS, RemoteTS: ch.RemoteTS,
			Encryption: ch.Algorithms.Encryption, Integrity: ch.Algorithms.Integrity, DHGroup: ch.Algorithms.DHGroup,
			Encap: s.Encap, BytesIn: ch.BytesIn, BytesOut: ch.BytesOut, PacketsIn: ch.PacketsIn, PacketsOut: ch.PacketsOut,
			LastInbound: lt.Children[ch.SPIIn].LastInbound, Installed: ch.Installed,
			RekeyAt: at(ch.RekeyIn), ExpiresAt: at(ch.LifetimeLeft)})
	}
	return ts
}

// interfaces lists the NICs that have a role, from netconf's status.
func (o *Owner) interfaces() []InterfaceStatus {
	if o.d.Network == nil {
		return nil
	}
	ns, err := o.d.Network()
	if err != nil {
		return nil
	}
	var out []InterfaceStatus
	for _, i := range ns.Interfaces {
		if i.Role == "" {
			continue
		}
		is := InterfaceStatus{Role: string(i.Role), Name: i.Name, State: i.State, How: i.How()}
		for _, a := range i.Addresses {
			is.Addresses = append(is.Addresses, a.String())
		}
		out = append(out, is)
	}
	return out
}

func (o *Owner) system() SystemStatus {
	s := SystemStatus{Version: o.d.Version}
	s.Hostname, _ = os.Hostname()
	s.Uptime, _ = sysinfo.Uptime(o.d.Proc)
	s.MemUsed, s.MemTotal, _ = sysinfo.Memory(o.d.Proc)
	s.CPUPercent = o.cpu.Percent()
	s.CharonRSS = o.charonRSS()
	return s
}

// charonConns is a Tunnels that also says which connections charon itself
// has loaded (ipsec.Client does).
type charonConns interface {
	CharonConns() []string
}

// charonRSS is the running charon's resident memory, 0 when there is none.
func (o *Owner) charonRSS() uint64 {
	if o.d.Units == nil {
		return 0
	}
	for _, u := range o.d.Units() {
		if u.Name() == "charon" {
			rss, _ := sysinfo.ProcessRSS(o.d.Proc, u.Status().Pid)
			return rss
		}
	}
	return 0
}
