package boxapi

import (
	"os"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/sysinfo"
	"github.com/tunneler/tunneler/webui"
)

// Status is a snapshot of the configured tunnels, the router and the box.
func (b *Box) Status() webui.Status {
	now := b.d.Now()
	st := webui.Status{Time: now, Router: webui.RouterStatus{State: "not enrolled"}}
	if b.d.Router != nil {
		st.Router = b.d.Router()
	}
	c, _ := b.stored()
	var live []ipsec.TunnelStatus
	running := false
	if b.d.Tunnels != nil {
		if cl := b.d.Tunnels(); cl != nil {
			live, running = cl.Status(), true
		}
	}
	byName := map[string]ipsec.TunnelStatus{}
	for _, s := range live {
		byName[s.Name] = s
	}
	for _, t := range c.Tunnels {
		s, ok := byName[t.Name]
		ts := TunnelStatus(t, s, now)
		if !ok {
			ts.Colour, ts.Reason = webui.Gray, "charon has not loaded this tunnel yet"
			if !running {
				ts.Reason = "charon is not running yet"
			}
		}
		st.Tunnels = append(st.Tunnels, ts)
	}
	b.sitesAndAlarms(&st, c, byName) // sites.go
	st.System = b.system()
	if b.d.Firewall != nil {
		rcs, err := b.d.Firewall()
		if err != nil {
			st.FirewallError = err.Error()
		}
		st.Firewall = firewallCounters(rcs)
	}
	var lines []string
	if b.d.Problems != nil {
		lines = b.d.Problems()
	}
	st.Problems = bootProblems(lines, b.d.Provisioning)
	return st
}

// TunnelStatus translates charon's view of one tunnel (from the VICI
// client) into the web UI's. Times charon gives as "in N seconds" become
// moments from now.
func TunnelStatus(t config.Tunnel, s ipsec.TunnelStatus, now time.Time) webui.TunnelStatus {
	ts := webui.TunnelStatus{Name: t.Name, PeerAddress: t.PeerAddress, Reason: s.Reason}
	for _, n := range t.RemoteNetworks {
		ts.RemoteNetworks = append(ts.RemoteNetworks, n.String())
	}
	switch {
	case s.Up():
		ts.Colour, ts.Reason = webui.Green, ""
		// VICI reports no DPD times: an established IKE SA with an
		// installed CHILD SA seen now is the freshest liveness there is.
		ts.LastHeartbeat = now
	case s.IKEState == "CONNECTING" || s.IKEState == "REKEYING" || s.IKEState == "ESTABLISHED":
		ts.Colour = webui.Orange
	default:
		ts.Colour = webui.Gray
	}
	at := func(d time.Duration) time.Time {
		if d <= 0 {
			return time.Time{}
		}
		return now.Add(d).Truncate(time.Second)
	}
	ts.IKE = webui.IKESA{State: s.IKEState, Established: s.Established, Version: s.IKEVersion,
		LocalAddr: s.LocalHost, RemoteAddr: s.RemoteHost,
		Encryption: s.IKEAlgorithms.Encryption, Integrity: s.IKEAlgorithms.Integrity,
		PRF: s.IKEAlgorithms.PRF, DHGroup: s.IKEAlgorithms.DHGroup,
		NATLocal: s.NATLocal, NATRemote: s.NATRemote, RekeyAt: at(s.IKERekeyIn)}
	for _, ch := range s.Children {
		ts.BytesIn += ch.BytesIn
		ts.BytesOut += ch.BytesOut
		ts.Children = append(ts.Children, webui.ChildSA{Name: ch.Name, State: ch.State,
			SPIIn: ch.SPIIn, SPIOut: ch.SPIOut, LocalTS: ch.LocalTS, RemoteTS: ch.RemoteTS,
			Encryption: ch.Algorithms.Encryption, Integrity: ch.Algorithms.Integrity, DHGroup: ch.Algorithms.DHGroup,
			Encap: s.Encap, BytesIn: ch.BytesIn, BytesOut: ch.BytesOut, Installed: ch.Installed,
			RekeyAt: at(ch.RekeyIn), ExpiresAt: at(ch.LifetimeLeft)})
	}
	return ts
}

func (b *Box) system() webui.SystemStatus {
	s := webui.SystemStatus{Version: b.d.Version}
	s.Hostname, _ = os.Hostname()
	s.Uptime, _ = sysinfo.Uptime(b.d.Proc)
	s.MemUsed, s.MemTotal, _ = sysinfo.Memory(b.d.Proc)
	s.CPUPercent = b.cpu.Percent()
	return s
}
