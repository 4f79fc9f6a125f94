package ipsec

import (
	"strconv"

	"github.com/tunneler/tunneler/appliance/ipsec/explain"
	"strings"
	"time"

	"github.com/strongswan/govici/vici"
)

// ikeSA is one entry of list-sas (and of ike-updown/child-updown events),
// as charon 5.9.8 sends it. Numbers stay strings: charon omits or renames
// fields between versions and a parse error must not hide the rest.
type ikeSA struct {
	UniqueID     string           `vici:"uniqueid"`
	Version      string           `vici:"version"`
	State        string           `vici:"state"`
	LocalHost    string           `vici:"local-host"`
	LocalPort    string           `vici:"local-port"`
	LocalID      string           `vici:"local-id"`
	RemoteHost   string           `vici:"remote-host"`
	RemotePort   string           `vici:"remote-port"`
	RemoteID     string           `vici:"remote-id"`
	Initiator    string           `vici:"initiator"`
	NATLocal     string           `vici:"nat-local"`
	NATRemote    string           `vici:"nat-remote"`
	EncrAlg      string           `vici:"encr-alg"`
	EncrKeysize  string           `vici:"encr-keysize"`
	IntegAlg     string           `vici:"integ-alg"`
	IntegKeysize string           `vici:"integ-keysize"`
	PRFAlg       string           `vici:"prf-alg"`
	DHGroup      string           `vici:"dh-group"`
	Established  string           `vici:"established"`
	RekeyTime    string           `vici:"rekey-time"`
	ReauthTime   string           `vici:"reauth-time"`
	Children     map[string]child `vici:"child-sas"`
}

type child struct {
	Name         string   `vici:"name"`
	UniqueID     string   `vici:"uniqueid"`
	ReqID        string   `vici:"reqid"`
	State        string   `vici:"state"`
	Encap        string   `vici:"encap"`
	SPIIn        string   `vici:"spi-in"`
	SPIOut       string   `vici:"spi-out"`
	EncrAlg      string   `vici:"encr-alg"`
	EncrKeysize  string   `vici:"encr-keysize"`
	IntegAlg     string   `vici:"integ-alg"`
	IntegKeysize string   `vici:"integ-keysize"`
	DHGroup      string   `vici:"dh-group"`
	BytesIn      string   `vici:"bytes-in"`
	PacketsIn    string   `vici:"packets-in"`
	BytesOut     string   `vici:"bytes-out"`
	PacketsOut   string   `vici:"packets-out"`
	RekeyTime    string   `vici:"rekey-time"`
	LifeTime     string   `vici:"life-time"`
	InstallTime  string   `vici:"install-time"`
	LocalTS      []string `vici:"local-ts"`
	RemoteTS     []string `vici:"remote-ts"`
}

func num(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func secsAgo(now time.Time, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	return now.Add(-time.Duration(num(s)) * time.Second)
}

func alg(name, keysize string) string {
	if name == "" {
		return ""
	}
	if keysize != "" {
		return name + "-" + keysize
	}
	return name
}

// ikeSAs reads the "<name> { ... }" sections of an event or list-sa message.
func ikeSAs(m *vici.Message) map[string]ikeSA {
	out := map[string]ikeSA{}
	for _, k := range m.Keys() {
		sec, ok := m.Get(k).(*vici.Message)
		if !ok {
			continue
		}
		var sa ikeSA
		if err := vici.UnmarshalMessage(sec, &sa); err != nil {
			continue
		}
		out[k] = sa
	}
	return out
}

// fill copies an IKE_SA's facts into st.
func fill(st *TunnelStatus, sa ikeSA, now time.Time) {
	st.IKEState = sa.State
	st.IKEVersion = int(num(sa.Version))
	st.LocalHost = joinHostPort(sa.LocalHost, sa.LocalPort)
	st.RemoteHost = joinHostPort(sa.RemoteHost, sa.RemotePort)
	st.LocalID, st.RemoteID = sa.LocalID, sa.RemoteID
	st.Initiator = sa.Initiator == "yes"
	st.NATLocal, st.NATRemote = sa.NATLocal == "yes", sa.NATRemote == "yes"
	st.IKEAlgorithms = Algorithms{
		Encryption: alg(sa.EncrAlg, sa.EncrKeysize),
		Integrity:  alg(sa.IntegAlg, sa.IntegKeysize),
		PRF:        sa.PRFAlg,
		DHGroup:    sa.DHGroup,
	}
	st.Established = time.Time{}
	if sa.State == "ESTABLISHED" {
		st.Established = secsAgo(now, sa.Established)
	}
	st.IKERekeyIn = time.Duration(num(sa.RekeyTime)) * time.Second
	st.IKEReauthIn = time.Duration(num(sa.ReauthTime)) * time.Second
	st.Children = st.Children[:0]
	st.Encap = false
	for _, c := range sa.Children {
		cs := ChildStatus{
			Name: c.Name, UniqueID: c.UniqueID, ReqID: uint32(num(c.ReqID)), State: c.State,
			SPIIn: c.SPIIn, SPIOut: c.SPIOut,
			Algorithms: Algorithms{
				Encryption: alg(c.EncrAlg, c.EncrKeysize),
				Integrity:  alg(c.IntegAlg, c.IntegKeysize),
				DHGroup:    c.DHGroup,
			},
			LocalTS: c.LocalTS, RemoteTS: c.RemoteTS,
			BytesIn: num(c.BytesIn), BytesOut: num(c.BytesOut),
			PacketsIn: num(c.PacketsIn), PacketsOut: num(c.PacketsOut),
			Installed:    secsAgo(now, c.InstallTime),
			RekeyIn:      time.Duration(num(c.RekeyTime)) * time.Second,
			LifetimeLeft: time.Duration(num(c.LifeTime)) * time.Second,
		}
		if c.Encap == "yes" {
			st.Encap = true
		}
		st.Children = append(st.Children, cs)
	}
	sortChildren(st.Children)
}

func joinHostPort(h, p string) string {
	if h == "" {
		return ""
	}
	if p == "" {
		return h
	}
	if strings.Contains(h, ":") {
		return "[" + h + "]:" + p
	}
	return h + ":" + p
}

func sortChildren(cs []ChildStatus) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && num(cs[j].UniqueID) < num(cs[j-1].UniqueID); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

func installed(cs []ChildStatus) bool {
	for _, c := range cs {
		if c.State == "INSTALLED" || c.State == "REKEYING" || c.State == "REKEYED" {
			return true
		}
	}
	return false
}

// handleEvent updates status from one charon event; it returns whether a
// list-sas refresh is worth doing.
func (c *Client) handleEvent(ev vici.Event) bool {
	m := ev.Message
	if m == nil {
		return false
	}
	now := ev.Timestamp
	if now.IsZero() {
		now = time.Now()
	}
	switch ev.Name {
	case "log":
		name, _ := m.Get("ikesa-name").(string)
		uid, _ := m.Get("ikesa-uniqueid").(string)
		line, _ := m.Get("msg").(string)
		reason := ReasonFromLog(line)
		c.mu.Lock()
		tunnel, e, explained := c.logLine(name, uid, line)
		if !explained {
			tunnel = name
		}
		ts, ok := c.tunnels[tunnel]
		if ok {
			// A proposal refused once the IKE_SA is up can only be the
			// CHILD_SA's (IKEv1 Quick Mode says no more than that).
			if reason == reasonIKEProposals && ts.ikeUp {
				reason = reasonESPProposals
			}
			if reason == reasonOurIKEProposals && ts.ikeUp {
				reason = reasonOurESPProposals
			}
			// The latest negotiation that said anything of NAT or vendor
			// IDs (a retry's first lines say nothing yet).
			if explained && (len(e.NAT) > 0 || len(e.VendorIDs) > 0) {
				ts.explained.NAT, ts.explained.VendorIDs = e.NAT, e.VendorIDs
			}
			switch {
			case explained && e.Kind != "":
				ts.explained, reason = e, e.Summary
			case reason != "":
				// A newer reason the log explains no further: the old
				// explanation no longer says why the tunnel is down.
				ts.explained = explain.Explanation{NAT: ts.explained.NAT, VendorIDs: ts.explained.VendorIDs}
			}
			if reason != "" {
				ts.reason, ts.reasonAt = reason, now
			}
		}
		c.mu.Unlock()
		if ok && reason != "" {
			c.notify()
		}
		return false
	case "ike-updown", "child-updown":
		up := m.Get("up") == "yes"
		c.mu.Lock()
		for name, sa := range ikeSAs(m) {
			ts, ok := c.tunnels[name]
			if !ok {
				continue
			}
			wasUp := ts.ikeUp && ts.childUp
			if ev.Name == "ike-updown" {
				ts.ikeUp = up
				if up {
					fill(&ts.st, sa, now)
					ts.st.Established = now
					// Authentication got through: an earlier reason is stale.
					ts.reason = ""
					ts.explained.Kind = ""
				} else {
					ts.childUp = false
					ts.st.IKEState, ts.st.Established, ts.st.Children = "", time.Time{}, nil
				}
			} else {
				if up {
					fill(&ts.st, sa, now)
					ts.childUp = true
					ts.ikeUp = true
				} else {
					// The event lists the CHILD_SA going down; others may live.
					ts.childUp = false
				}
			}
			if nowUp := ts.ikeUp && ts.childUp; nowUp && !wasUp {
				if !ts.everUp {
					ts.st.FirstUp = now
				}
				ts.everUp = true
				ts.st.LastUp = now
				ts.reason = ""
				ts.explained = explain.Explanation{NAT: ts.explained.NAT, VendorIDs: ts.explained.VendorIDs}
			} else if wasUp && !nowUp {
				ts.st.LastDown = now
			}
		}
		c.mu.Unlock()
		c.notify()
		return true
	case "ike-rekey", "child-rekey":
		c.mu.Lock()
		for name := range ikeSAs(m) {
			if ts, ok := c.tunnels[name]; ok {
				if ev.Name == "ike-rekey" {
					ts.rekeys.IKE++
					ts.rekeys.LastIKE = now
				} else {
					ts.rekeys.Child++
					ts.rekeys.LastChild = now
				}
			}
		}
		c.mu.Unlock()
		c.notify()
		return true
	}
	return false
}

// Refresh reads list-sas and updates every tunnel's SAs, counters and
// rekey times, and reads which connections charon has loaded. Run calls it every RefreshInterval and after updown events.
func (c *Client) Refresh() error {
	c.cmdMu.Lock()
	msgs, err := c.streamed("list-sas", "list-sa", vici.NewMessage())
	var loaded []string
	if err == nil {
		loaded, err = c.readCharonConns()
	}
	c.cmdMu.Unlock()
	if err != nil {
		return err
	}
	now := time.Now()
	seen := map[string]ikeSA{}
	all := map[string][]ikeSA{}
	for _, m := range msgs {
		for name, sa := range ikeSAs(m) {
			all[name] = append(all[name], sa)
			// During make-before-break or a peer's duplicate, prefer the
			// established SA with a child, then the newest.
			if old, ok := seen[name]; ok && better(old, sa) {
				continue
			}
			seen[name] = sa
		}
	}
	c.mu.Lock()
	c.charonConns = loaded
	for name, ts := range c.tunnels {
		sa, ok := seen[name]
		wasUp := ts.ikeUp && ts.childUp
		if !ok {
			ts.ikeUp, ts.childUp = false, false
			ts.st.IKEState, ts.st.Established, ts.st.Children = "", time.Time{}, nil
		} else {
			established := ts.st.Established
			fill(&ts.st, sa, now)
			// Keep the event's exact time over list-sas' whole seconds.
			if !established.IsZero() && sa.State == "ESTABLISHED" && ts.st.Established.Sub(established).Abs() < 2*time.Second {
				ts.st.Established = established
			}
			ts.ikeUp = sa.State == "ESTABLISHED"
			ts.childUp = installed(ts.st.Children)
		}
		nowUp := ts.ikeUp && ts.childUp
		if nowUp && !wasUp {
			if !ts.everUp {
				ts.st.FirstUp = now
			}
			ts.everUp, ts.st.LastUp, ts.reason = true, now, ""
		} else if wasUp && !nowUp {
			ts.st.LastDown = now
		}
	}
	c.mu.Unlock()
	c.notify()
	c.closeDuplicates(all)
	return nil
}

// better reports whether a should be kept over b.
func better(a, b ikeSA) bool {
	score := func(s ikeSA) int {
		n := 0
		if s.State == "ESTABLISHED" {
			n += 2
		}
		for _, c := range s.Children {
			if c.State == "INSTALLED" {
				n++
				break
			}
		}
		return n
	}
	if sa, sb := score(a), score(b); sa != sb {
		return sa > sb
	}
	return num(a.UniqueID) > num(b.UniqueID)
}
