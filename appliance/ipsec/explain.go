package ipsec

import (
	"regexp"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec/explain"
)

// Limits on the log kept per IKE_SA for explaining a failure: a
// negotiation that fails logs a few dozen lines, and a device that retries
// makes a new IKE_SA (a new unique id) each time.
const (
	saLogLines = 120
	saLogSAs   = 64
)

// saLog is what charon logged for one IKE_SA (by its unique id), and the
// tunnel it belongs to once known: by the IKE_SA's name, or, while a
// responder's IKE_SA has no name yet, by the device's address.
type saLog struct {
	tunnel string
	lines  []string
}

// foreignSA marks an IKE_SA named after no tunnel.
const foreignSA = " foreign"

var packetFromRe = regexp.MustCompile(`^received packet: from ([^\[\s]+)\[`)

// expectOf is what explain needs of a tunnel's config.
func expectOf(t config.Tunnel, presets map[string]explain.Preset) explain.Expect {
	e := explain.Expect{RemoteID: t.RemoteID, Presets: presets, Cert: t.Auth == config.AuthCert}
	if e.RemoteID == "" {
		e.RemoteID = t.PeerAddress
	}
	e.LocalTS = config.PrefixStrings(t.LocalNetworks)
	e.RemoteTS = config.PrefixStrings(t.RemoteNetworks)
	return e
}

// explainPresets are the box's presets as explain reads them.
func explainPresets() map[string]explain.Preset {
	out := map[string]explain.Preset{}
	for _, n := range config.PresetNames() {
		p, _ := config.LookupPreset(n)
		out[n] = explain.Preset{IKE: p.IKE, ESP: p.ESP, Weak: n == config.LegacyPreset}
	}
	return out
}

// logLine files one VICI log line under its IKE_SA and returns the
// tunnel's new explanation, if the line belongs to a tunnel. Call with
// mu held.
func (c *Client) logLine(name, uid, msg string) (string, explain.Explanation, bool) {
	if uid == "" {
		return "", explain.Explanation{}, false
	}
	sl, ok := c.saLogs[uid]
	if !ok {
		if len(c.saLogs) >= saLogSAs {
			clear(c.saLogs) // old IKE_SAs' logs; a live failure logs again on its next try
		}
		sl = &saLog{}
		c.saLogs[uid] = sl
	}
	if _, known := c.tunnels[name]; known {
		sl.tunnel = name
	} else if name != "" && name != "(unnamed)" {
		sl.tunnel = foreignSA // e.g. a probe's: never the tunnel at its address
	} else if m := packetFromRe.FindStringSubmatch(msg); m != nil && sl.tunnel == "" {
		sl.tunnel = c.peers[m[1]]
	}
	if len(sl.lines) < saLogLines {
		sl.lines = append(sl.lines, msg)
	}
	ts, ok := c.tunnels[sl.tunnel]
	if !ok {
		return "", explain.Explanation{}, false
	}
	return sl.tunnel, explain.Explain(sl.lines, ts.expect), true
}
