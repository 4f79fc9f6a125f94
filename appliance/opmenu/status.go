package opmenu

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// The Status screen: the config, the tunnels with their colours and
// mismatches, and a running trial, from the owner's one snapshot.

func (b *Menu) status(w io.Writer) error {
	if b.PrintStatus != nil {
		b.PrintStatus(w)
	}
	if b.Firewall != nil {
		for _, l := range FirewallLines(b.Firewall()) {
			fmt.Fprintf(w, " %s\n", l)
		}
	}
	if b.Settings == nil {
		return nil
	}
	c, seq, err := b.current()
	if err != nil {
		fmt.Fprintf(w, " Config: %v\n", err)
		return nil
	}
	for _, l := range StatusLines(c, seq) {
		fmt.Fprintf(w, " %s\n", l)
	}
	st := b.Settings.Status()
	if l := TrialLine(st.Trial, time.Now()); l != "" {
		fmt.Fprintf(w, " %s\n", l)
	}
	for _, l := range TunnelLines(st) {
		fmt.Fprintf(w, " %s\n", l)
	}
	return nil
}

// TunnelLines is each tunnel's (and each site remote's) state now, in the
// snapshot's colour: the same word the web UI and the JSON API show.
func TunnelLines(st control.Status) []string {
	var out []string
	for _, t := range st.Tunnels {
		l := fmt.Sprintf("Tunnel %s is %s", t.Name, t.Colour)
		if t.Site != "" {
			l = fmt.Sprintf("Tunnel %s (site %s) is %s", t.Name, t.Site, t.Colour)
		}
		if t.WeakCrypto {
			l += " (weak crypto: legacy preset)"
		}
		if t.Reason != "" {
			l += ": " + t.Reason
		}
		out = append(out, l)
		out = append(out, MismatchLines(t)...)
	}
	return out
}

// MismatchLines are the indented details under a tunnel's line: both
// sides of a mismatch, NAT and the device's vendor IDs, from the snapshot.
func MismatchLines(t control.TunnelStatus) []string {
	var out []string
	if m := t.Mismatch; m != nil {
		if len(m.Offered) > 0 {
			out = append(out, "  remote device offered: "+strings.Join(m.Offered, ", "))
		}
		if len(m.Accepted) > 0 {
			out = append(out, "  this tunnel accepts:   "+strings.Join(m.Accepted, ", "))
		}
		switch {
		case m.PresetWeak:
			out = append(out, fmt.Sprintf("  matching preset:       %s, with the weak-crypto acknowledgment", m.Preset))
		case m.Preset != "":
			out = append(out, fmt.Sprintf("  matching preset:       %s", m.Preset))
		case m.NoPreset:
			out = append(out, "  matching preset:       none (the device offers only algorithms this box does not allow)")
		}
		if m.ProposedTS != "" {
			out = append(out, "  device proposed:       "+m.ProposedTS)
		}
		if m.ConfiguredTS != "" {
			out = append(out, "  configured networks:   "+m.ConfiguredTS)
		}
		if m.SentID != "" {
			out = append(out, "  device sent ID:        "+m.SentID)
		}
		if m.ExpectedID != "" {
			out = append(out, "  expected ID:           "+m.ExpectedID)
		}
	}
	if len(t.NAT) > 0 {
		out = append(out, "  NAT:                   "+strings.Join(t.NAT, "; "))
	}
	if len(t.VendorIDs) > 0 {
		out = append(out, "  device vendor IDs:     "+strings.Join(t.VendorIDs, ", "))
	}
	return out
}

// StatusLines summarises the config for the status screen: generation,
// hostname, LAN settings, tunnels and router. No secret appears.
func StatusLines(c config.Config, seq int) []string {
	if seq == 0 {
		return []string{"Config: none saved yet (setup mode)"}
	}
	d := c.WithDefaults()
	out := []string{fmt.Sprintf("Config: generation %d, hostname %s", seq, d.System.Hostname)}
	for _, i := range d.Interfaces {
		how := string(i.Mode)
		if i.Mode == config.ModeStatic {
			how = "static " + i.Address.String()
		}
		bind := "by PCI order"
		if i.MAC != "" {
			bind = "MAC " + i.MAC
		}
		if i.Role == config.RoleWAN && i.IPv6 != "" && i.IPv6 != config.IPv6Off {
			how += ", IPv6 " + wanIPv6Summary(i)
		}
		out = append(out, fmt.Sprintf("  %-4s %s (%s)", i.Role, how, bind))
	}
	if len(d.Tunnels) == 0 {
		out = append(out, "Tunnels: none configured")
	}
	for _, t := range d.Tunnels {
		var nets []string
		for _, n := range t.RemoteNetworks {
			nets = append(nets, n.String())
		}
		out = append(out, fmt.Sprintf("Tunnel %s: %s to %s, %s mode, remote %s", t.Name, t.IKEVersion, t.PeerAddress, t.Mode, strings.Join(nets, ", ")))
	}
	// Whether the router is enrolled and connected is on the banner's
	// Router line: the identity on /perm says so, not this document.
	out = append(out, fmt.Sprintf("Router settings: intercepts %s, inside address %s", d.Router.InterceptRange, d.Router.InsideAddress))
	return out
}

// TrialLine is the status screen's line for a running trial.
func TrialLine(t *control.TrialStatus, now time.Time) string {
	if t == nil {
		return ""
	}
	left := t.Deadline.Sub(now).Round(time.Second)
	if left < 0 {
		left = 0
	}
	return fmt.Sprintf("TRIAL: generation %d goes back to generation %d in %s unless confirmed (entry 18 here, the web UI's banner, or POST /api/trial/confirm)", t.Generation, t.Previous, left)
}
