package boxapi

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
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
	if f := strings.Fields(readFile(filepath.Join(b.d.Proc, "uptime"))); len(f) > 0 {
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			s.Uptime = time.Duration(v * float64(time.Second))
		}
	}
	s.MemUsed, s.MemTotal = memory(readFile(filepath.Join(b.d.Proc, "meminfo")))
	s.CPUPercent = b.cpu.percent()
	return s
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// memory returns bytes in use (total less available) and the total.
func memory(meminfo string) (used, total uint64) {
	var avail uint64
	for _, line := range strings.Split(meminfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			avail = v * 1024
		}
	}
	if avail > total {
		return 0, total
	}
	return total - avail, total
}

// cpuMeter turns /proc/stat's counters into the busy share since the
// previous call (the metrics sampler calls every few seconds).
type cpuMeter struct {
	proc       string
	mu         sync.Mutex
	busy, all  uint64
	last       float64
	lastSample time.Time
}

func (m *cpuMeter) percent() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Page views between samples reuse the last figure: a delta over a
	// few milliseconds says nothing.
	if time.Since(m.lastSample) < time.Second {
		return m.last
	}
	busy, all, ok := cpuTimes(readFile(filepath.Join(m.proc, "stat")))
	if !ok {
		return 0
	}
	if m.all != 0 && all > m.all {
		m.last = 100 * float64(busy-m.busy) / float64(all-m.all)
	}
	m.busy, m.all, m.lastSample = busy, all, time.Now()
	return m.last
}

// cpuTimes sums the "cpu" line of /proc/stat: all ticks, and all but idle
// and iowait.
func cpuTimes(stat string) (busy, all uint64, ok bool) {
	for _, line := range strings.Split(stat, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		for i, v := range f[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			all += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		return busy, all, true
	}
	return 0, 0, false
}
