package ipsec

import (
	"slices"
	"strings"
)

// When the box and the remote device initiate at the same moment, each
// side ends up with two IKE_SAs (one it initiated, one it answered) and a
// CHILD_SA in each. unique=replace does not help: charon enforces it only
// against an IKE_SA that is already ESTABLISHED when the newer one
// authenticates, and in a crossing both are still connecting then. So
// both pairs stay up, rekey and send DPD for ever.
//
// The box settles on one pair itself: when a tunnel has an established
// IKE_SA the device initiated, with an installed CHILD_SA, the IKE_SAs
// the box initiated for that tunnel are closed (charon sends the device
// their DELETE, so it drops them too). The device's pair is the one kept
// because devices that re-initiate a deleted SA by themselves (libreswan's
// auto=start does) would otherwise bring the duplicate straight back.
// Make-before-break reauthentication never matches: its two IKE_SAs have
// the same initiator.

// duplicateSAs returns the unique ids of the IKE_SAs of one tunnel that
// the box should close: those it initiated, when the device's own pair is
// up beside them.
func duplicateSAs(sas []ikeSA) []string {
	theirsUp := slices.ContainsFunc(sas, func(s ikeSA) bool {
		return s.State == "ESTABLISHED" && s.Initiator != "yes" && installedChild(s)
	})
	if !theirsUp {
		return nil
	}
	var close []string
	for _, s := range sas {
		if s.Initiator == "yes" && s.State == "ESTABLISHED" {
			close = append(close, s.UniqueID)
		}
	}
	return close
}

func installedChild(s ikeSA) bool {
	for _, c := range s.Children {
		if c.State == "INSTALLED" {
			return true
		}
	}
	return false
}

// closeDuplicates closes the IKE_SAs duplicateSAs names, without waiting.
func (c *Client) closeDuplicates(byTunnel map[string][]ikeSA) {
	for name, sas := range byTunnel {
		for _, uid := range duplicateSAs(sas) {
			c.opts.Logf("ipsec: %s: closing IKE_SA #%s this box initiated: the remote device's own pair crossed it and is up (both sides initiated)", name, uid)
			c.cmdMu.Lock()
			err := c.cmd("terminate", msg("ike-id", uid, "timeout", "-1"))
			c.cmdMu.Unlock()
			if err != nil && !strings.Contains(err.Error(), "no matching") {
				c.opts.Logf("ipsec: %s: close duplicate IKE_SA #%s: %v", name, uid, err)
			}
		}
	}
}
