package control

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// The probe's progress is readable while it runs, its result names the
// presets that carry an accepted set, and applying one is a Save like any
// other: a new generation with the tunnel's preset set and its own lists
// dropped.
func TestProbeThenApplyPreset(t *testing.T) {
	release := make(chan struct{})
	var got config.Tunnel
	probe := func(ctx context.Context, tun config.Tunnel, o ipsec.ProbeOptions) ([]ipsec.ProbeResult, error) {
		got = tun
		var out []ipsec.ProbeResult
		for i, s := range o.Sets {
			r := ipsec.ProbeResult{Set: s, Outcome: ipsec.ProbeRefused}
			if s.Proposal == "aes256-sha384-ecp384" {
				r.Outcome = ipsec.ProbeAccepted
			}
			out = append(out, r)
			o.Progress(i+1, len(o.Sets), r)
			if i == 0 {
				<-release // hold the probe so its running state shows
			}
		}
		return out, nil
	}
	st := &memStore{}
	b := New(Deps{Store: st, Apply: func(context.Context, config.Config) error { return nil }, Probe: probe, TunnelTimeout: 10 * time.Millisecond})
	c := testConfig()
	c.Tunnels[0].IKEProposals = []string{"aes256gcm16-prfsha384-ecp384"}
	if errs, err := b.Save(context.Background(), Change{Config: c, Source: FromWebUI}); err != nil || len(errs) > 0 {
		t.Fatalf("save: %v %v", errs, err)
	}
	if err := b.StartProbe("nope"); err == nil || !strings.Contains(err.Error(), `no tunnel named "nope"`) {
		t.Errorf("probe of an unknown tunnel: %v", err)
	}
	if err := b.StartProbe("site1"); err != nil {
		t.Fatal(err)
	}
	waitProbe := func(cond func(ProbeStatus) bool) ProbeStatus {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if p, _ := b.Probe("site1"); cond(p) {
				return p
			}
		}
		p, _ := b.Probe("site1")
		t.Fatalf("probe status never got there: %+v", p)
		return p
	}
	p := waitProbe(func(p ProbeStatus) bool { return p.Done == 1 })
	if !p.Running || p.Total < 8 {
		t.Errorf("while running: %+v", p)
	}
	if err := b.StartProbe("site1"); err == nil {
		t.Errorf("a second probe of the same tunnel started")
	}
	close(release)
	p = waitProbe(func(p ProbeStatus) bool { return !p.Running })
	if p.Error != "" || p.Done != p.Total || len(p.Accepted) != 1 || p.Accepted[0] != "aes256-sha384-ecp384" ||
		len(p.Presets) != 1 || p.Presets[0] != "paloalto" {
		t.Errorf("finished: %+v", p)
	}
	if got.PeerAddress != "192.0.2.2" || got.Name != "site1" {
		t.Errorf("probed %+v", got)
	}

	_, gen, _ := b.stored()
	if _, err := b.ApplyPreset(context.Background(), "site1", "juniper", gen, FromWebUI); err == nil {
		t.Errorf("an unknown preset was applied")
	}
	if errs, err := b.ApplyPreset(context.Background(), "site1", p.Presets[0], gen, FromWebUI); err != nil || len(errs) > 0 {
		t.Fatalf("apply preset: %v %v", errs, err)
	}
	after, gen2, _ := b.stored()
	if gen2 != gen+1 || after.Tunnels[0].Preset != "paloalto" || after.Tunnels[0].IKEProposals != nil {
		t.Errorf("after applying: generation %d (was %d), tunnel %+v", gen2, gen, after.Tunnels[0].IKESettings)
	}
	if c.Tunnels[0].IKEProposals == nil {
		t.Errorf("the caller's config was changed")
	}
}
