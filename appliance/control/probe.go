package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// ProbeStatus is the live state of "Find what the remote device accepts"
// for one tunnel: each IKE proposal set tried so far and what the device
// said, and the presets that carry a set it accepted.
type ProbeStatus struct {
	Tunnel   string              `json:"tunnel"`
	Running  bool                `json:"running"`
	Started  time.Time           `json:"started"`
	Finished time.Time           `json:"finished,omitzero"`
	Done     int                 `json:"done"`
	Total    int                 `json:"total"`
	Results  []ipsec.ProbeResult `json:"results"`
	// Accepted are the proposals the device accepted; Presets the
	// presets that offer one of them (empty when only legacy sets were).
	Accepted []string `json:"accepted,omitempty"`
	Presets  []string `json:"presets,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// probeTimeout bounds a whole probe; ipsec.Probe bounds each try.
const probeTimeout = 2 * time.Minute

// StartProbe starts finding what the remote device of a tunnel accepts;
// Probe reports it as it runs. One probe per tunnel at a time.
func (o *Owner) StartProbe(name string) error {
	if o.d.Probe == nil {
		return errors.New("this box cannot probe remote devices (charon is not part of it)")
	}
	c, _, _ := o.stored()
	i := slices.IndexFunc(c.WithDefaults().AllTunnels(), func(t config.Tunnel) bool { return t.Name == name })
	if i < 0 {
		return fmt.Errorf("no tunnel named %q", name)
	}
	t := c.WithDefaults().AllTunnels()[i]
	o.probeMu.Lock()
	if p := o.probes[name]; p != nil && p.Running {
		o.probeMu.Unlock()
		return fmt.Errorf("a probe of %q is already running", name)
	}
	if o.probes == nil {
		o.probes = map[string]*ProbeStatus{}
	}
	sets := ipsec.ProbeSets()
	o.probes[name] = &ProbeStatus{Tunnel: name, Running: true, Started: o.d.Now(), Total: len(sets)}
	o.probeMu.Unlock()
	o.d.Logf("probe: finding what the remote device of %s (%s) accepts, %d sets", name, t.PeerAddress, len(sets))

	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		_, err := o.d.Probe(ctx, t, ipsec.ProbeOptions{Sets: sets, Total: probeTimeout,
			Progress: func(done, total int, r ipsec.ProbeResult) {
				o.probeMu.Lock()
				p := o.probes[name]
				p.Done, p.Total = done, total
				p.Results = append(p.Results, r)
				if r.Outcome == ipsec.ProbeAccepted {
					p.Accepted = append(p.Accepted, r.Set.Proposal)
					for _, n := range r.Set.Presets {
						if n != "" && !slices.Contains(p.Presets, n) {
							p.Presets = append(p.Presets, n)
						}
					}
				}
				o.probeMu.Unlock()
			}})
		o.probeMu.Lock()
		p := o.probes[name]
		p.Running, p.Finished = false, o.d.Now()
		if err != nil {
			p.Error = err.Error()
		}
		o.d.Logf("probe: %s accepts %v (presets %v)", name, p.Accepted, p.Presets)
		o.probeMu.Unlock()
	}()
	return nil
}

// Probe returns the latest probe of a tunnel.
func (o *Owner) Probe(name string) (ProbeStatus, bool) {
	o.probeMu.Lock()
	defer o.probeMu.Unlock()
	p, ok := o.probes[name]
	if !ok {
		return ProbeStatus{}, false
	}
	out := *p
	out.Results = slices.Clone(p.Results)
	out.Accepted, out.Presets = slices.Clone(p.Accepted), slices.Clone(p.Presets)
	return out, true
}

// ApplyPreset sets a tunnel's preset and drops its own proposal lists, so
// the preset's are used; it is saved like any other change.
func (o *Owner) ApplyPreset(ctx context.Context, name, preset string, base int, src Source) (config.FieldErrors, error) {
	if _, ok := config.LookupPreset(preset); !ok || preset == "" {
		return nil, fmt.Errorf("%q is not a known preset", preset)
	}
	c, _, _ := o.stored()
	c.Tunnels = slices.Clone(c.Tunnels) // the stored document is shared: edit a copy
	i := slices.IndexFunc(c.Tunnels, func(t config.Tunnel) bool { return t.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("no tunnel named %q (a site's remote takes its preset from its profile)", name)
	}
	c.Tunnels[i].Preset, c.Tunnels[i].IKEProposals, c.Tunnels[i].ESPProposals = preset, nil, nil
	return o.Save(ctx, Change{Config: c, Base: base, Source: src})
}
