// Package liveness tells a live ESP data path from a dead one: it follows
// each CHILD_SA's packet counters (charon reads them from the kernel's
// XFRM states; list-sas' packets-in and packets-out) from one sample to
// the next, and keeps when the inbound counter last grew, per CHILD_SA and
// per tunnel across rekeys.
//
// The kernel keeps no time of the last packet of an SA: its
// curlft.use_time is the first use (Linux 6.1, xfrm_state_check_expire),
// and charon's use-in comes from it. So the time of the last inbound
// packet is the sample at which the counter was seen to grow: exact to
// the sampling interval (5 s, the VICI client's refresh).
//
// A tunnel is silent when IKE is established, packets went out, and none
// came in since: the remote device's ESP does not arrive (protocol 50 or
// UDP 4500 dropped on the path), whatever IKE says.
package liveness

import (
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/ipsec"
)

// SilentMessage is what the alarm and the pages say of a silent tunnel.
const SilentMessage = "ESP from the remote device does not arrive: check that IP protocol 50 or UDP 4500 is allowed on the path, or turn on forced UDP encapsulation"

// DefaultSilence is how long packets may go out with none coming in
// before a tunnel is called silent, when nothing else is set.
const DefaultSilence = 60 * time.Second

// Child is one CHILD_SA's counters and when its inbound counter last grew.
type Child struct {
	SPIIn                 string
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64
	LastInbound           time.Time // zero: no inbound packet seen
}

// Tunnel is a tunnel's liveness.
type Tunnel struct {
	// LastInbound is when an inbound ESP packet last arrived on any of
	// the tunnel's CHILD_SAs, kept across rekeys (zero: none seen).
	LastInbound time.Time
	// SendingSince is when packets started going out with none coming in
	// since (zero while inbound keeps up, or nothing is sent).
	SendingSince time.Time
	// IKEUp: the IKE SA was established at the last sample.
	IKEUp    bool
	Children map[string]Child // by SPIIn
}

// Silent reports whether packets have gone out for at least after with
// none coming in, while IKE is up.
func (t Tunnel) Silent(now time.Time, after time.Duration) bool {
	return t.IKEUp && !t.SendingSince.IsZero() && now.Sub(t.SendingSince) >= after
}

// Tracker follows every tunnel. Safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	tunnels map[string]*Tunnel
}

// New returns an empty tracker.
func New() *Tracker { return &Tracker{tunnels: map[string]*Tunnel{}} }

// Observe takes one sample of charon's view at now.
func (tr *Tracker) Observe(now time.Time, sts []ipsec.TunnelStatus) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	seen := map[string]bool{}
	for _, st := range sts {
		seen[st.Name] = true
		t := tr.tunnels[st.Name]
		if t == nil {
			t = &Tunnel{}
			tr.tunnels[st.Name] = t
		}
		t.IKEUp = st.IKEState == "ESTABLISHED"
		in, out := false, false
		children := map[string]Child{}
		for _, c := range st.Children {
			prev, known := t.Children[c.SPIIn]
			ch := Child{SPIIn: c.SPIIn, PacketsIn: c.PacketsIn, PacketsOut: c.PacketsOut, BytesIn: c.BytesIn, BytesOut: c.BytesOut, LastInbound: prev.LastInbound}
			// A CHILD_SA first seen with packets got them since it was
			// installed, at most one sample ago.
			if c.PacketsIn > prev.PacketsIn || !known && c.PacketsIn > 0 {
				ch.LastInbound, in = now, true
			}
			if c.PacketsOut > prev.PacketsOut || !known && c.PacketsOut > 0 {
				out = true
			}
			children[c.SPIIn] = ch
		}
		t.Children = children
		switch {
		case in:
			t.LastInbound, t.SendingSince = now, time.Time{}
		case !t.IKEUp || len(children) == 0:
			t.SendingSince = time.Time{} // a new IKE SA starts afresh
		case out && t.SendingSince.IsZero():
			t.SendingSince = now
		}
	}
	for name := range tr.tunnels {
		if !seen[name] {
			delete(tr.tunnels, name)
		}
	}
}

// Tunnel returns a tunnel's liveness, and whether it was ever sampled.
func (tr *Tracker) Tunnel(name string) (Tunnel, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t, ok := tr.tunnels[name]
	if !ok {
		return Tunnel{}, false
	}
	c := *t
	c.Children = make(map[string]Child, len(t.Children))
	for k, v := range t.Children {
		c.Children[k] = v
	}
	return c, true
}
