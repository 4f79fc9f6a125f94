package control

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// Source says where a change came from; the config history shows it.
type Source string

const (
	FromWebUI        Source = config.SourceWebUI
	FromAPI          Source = config.SourceAPI
	FromConsole      Source = config.SourceConsole
	FromProvisioning Source = config.SourceProvisioning
	FromRestore      Source = config.SourceRestore
	FromUpdate       Source = config.SourceUpdate
	FromTrialRevert  Source = config.SourceTrialRevert
)

// Change is one edit of the config on its way to the box.
type Change struct {
	Config config.Config
	// Base is the generation the edit started from (Config's or
	// Applied's answer when the page or menu screen was opened). A change
	// based on an older generation than the newest is refused: someone
	// else saved in between, and saving would silently undo their change.
	Base   int
	Source Source
	// Trial, when set, applies the change on trial: unless ConfirmTrial
	// is called within Trial, the box goes back to the generation before.
	Trial time.Duration
}

// StaleError refuses a change based on an older generation.
type StaleError struct {
	Base, Newest int
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("changed elsewhere since you opened this page (you edited generation %d; generation %d was saved since): reload to see the current settings, then make your change again", e.Base, e.Newest)
}

// Save is the only way a config reaches the box. Under one lock it keeps
// the stored secrets (a hidden placeholder keeps the key), checks the
// change is based on the newest generation, validates once, stores the
// document as a new generation and starts applying it. Field errors mean
// nothing was saved; a *StaleError means nothing was saved because the
// change is based on an older generation; another error is a failure to
// write.
func (o *Owner) Save(ctx context.Context, ch Change) (config.FieldErrors, error) {
	_, errs, err := o.save(ch, nil)
	return errs, err
}

// saveExtra is what a save does beyond a plain change: the router token
// an apply enrolls with, the generation a restore brings back, and what
// a trial revert must undo besides the config (a restored identity).
type saveExtra struct {
	jwt []byte
	// restoredFrom, when not 0, is an older generation saved again: the
	// box accepted it before, so it is not validated again (a stricter
	// firmware must not keep an operator from going back to it).
	restoredFrom int
	// undo runs when the trial of this change is reverted.
	undo func()
}

// save is Save; with a router token the apply enrolls the router too
// (SaveAndEnroll, router.go). It returns the new generation.
func (o *Owner) save(ch Change, jwt []byte) (int, config.FieldErrors, error) {
	return o.saveWith(ch, saveExtra{jwt: jwt})
}

// saveWith is save with the extras history and restores need.
func (o *Owner) saveWith(ch Change, x saveExtra) (int, config.FieldErrors, error) {
	jwt := x.jwt
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.d.Store == nil {
		return 0, nil, errNoStore
	}
	if ch.Base != o.gen {
		return 0, nil, &StaleError{Base: ch.Base, Newest: o.gen}
	}
	c := ch.Config.KeepSecrets(o.cur)
	c.Version = config.CurrentVersion
	if x.restoredFrom == 0 {
		if errs := c.Validate(); len(errs) > 0 {
			return 0, errs, nil
		}
	}
	seq, err := o.storeSave(c, string(ch.Source), x.restoredFrom)
	if err != nil {
		return 0, nil, fmt.Errorf("save config: %w", err)
	}
	prev, prevGen := o.cur, o.gen
	o.cur, o.gen, o.has = c, seq, true
	src := ch.Source
	if src == "" {
		src = "unnamed source"
	}
	o.d.Logf("config saved as generation %d from the %s (%d tunnels, %d sites)", seq, src, len(c.Tunnels), len(c.Sites))
	if !c.Admin.PasswordHash.IsZero() && o.d.SetupDone != nil {
		o.d.SetupDone()
	}
	switch {
	case ch.Trial > 0 && prevGen > 0:
		o.startTrial(seq, ch.Trial, src, prev, prevGen, x.undo)
	case o.trial != nil:
		// A change saved for good on top of one on trial keeps both:
		// the operator reached the box to make it.
		o.d.Logf("TRIAL: generation %d ends its trial: generation %d was saved on top of it from the %s", o.trial.Generation, seq, src)
		o.endTrial()
	}
	o.startApply(seq, c, jwt)
	return seq, nil, nil
}

// startApply starts applying generation seq. Under o.mu.
func (o *Owner) startApply(seq int, c config.Config, jwt []byte) {
	o.applyN++
	n := o.applyN
	o.evMu.Lock()
	o.events, o.evGen = nil, n
	o.evMu.Unlock()
	o.event(n, "config", "ok", fmt.Sprintf("saved (generation %d)", seq), false)
	go o.apply(n, seq, c, jwt)
}

// current reports whether apply n is still the newest.
func (o *Owner) current(n int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.applyN == n
}

// apply hands c to the drivers, then follows the tunnels until all are up
// or the timeout says why one is not. Drivers run for one config at a
// time; a newer save supersedes an apply that has not started.
func (o *Owner) apply(n, gen int, c config.Config, jwt []byte) {
	o.applyMu.Lock()
	if !o.current(n) {
		o.applyMu.Unlock()
		return // the newer save applies its own, newer config
	}
	o.event(n, "network", "running", "applying interfaces, firewall and IPsec policies", false)
	if o.d.Apply != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		err := o.d.Apply(ctx, c)
		cancel()
		if err != nil {
			o.event(n, "network", "failed", err.Error(), false)
		} else {
			o.event(n, "network", "ok", "interfaces, firewall and IPsec policies applied", false)
		}
	}
	o.appliedMu.Lock()
	prev := o.applied
	o.applied, o.appliedGen = c.WithDefaults(), gen
	o.appliedMu.Unlock()
	o.applyMu.Unlock()

	enrolled := o.enrollAtApply(n, jwt) // nil without a token
	all := c.WithDefaults().Tunnels
	changed := changedTunnels(prev.Tunnels, all)
	switch {
	case len(all) == 0:
		o.finish(n, enrolled, "tunnels", "ok", "applied; no tunnel is configured")
	case len(changed) == 0:
		o.finish(n, enrolled, "tunnels", "ok", fmt.Sprintf("applied; no tunnel changed (%d keep running as they were)", len(all)))
	default:
		o.watchTunnels(n, changed, enrolled)
	}
}

// changedTunnels are the tunnels of next (defaults applied) that are new
// or whose settings differ from prev's: only those are reloaded (the
// drivers diff per tunnel), so only those are watched. On a head-end a
// change to one tunnel must not wait for, or report on, a thousand others.
func changedTunnels(prev, next []config.Tunnel) []config.Tunnel {
	old := make(map[string]config.Tunnel, len(prev))
	for _, t := range prev {
		old[t.Name] = t
	}
	var out []config.Tunnel
	for _, t := range next {
		if p, ok := old[t.Name]; !ok || !reflect.DeepEqual(p, t) {
			out = append(out, t)
		}
	}
	return out
}

// watchTunnels reports each tunnel of apply n until all are up, the
// timeout passes, or a newer apply takes over.
func (o *Owner) watchTunnels(n int, tunnels []config.Tunnel, enrolled <-chan error) {
	for _, t := range tunnels {
		o.event(n, "tunnel "+t.Name, "running", "connecting to "+t.PeerAddress, false)
	}
	deadline := o.d.Now().Add(o.d.TunnelTimeout)
	said := map[string]string{}
	for {
		if !o.current(n) {
			return
		}
		byName := map[string]ipsec.TunnelStatus{}
		for _, s := range o.liveTunnels() {
			byName[s.Name] = s
		}
		up, firstDown := 0, ""
		for _, t := range tunnels {
			s, ok := byName[t.Name]
			switch {
			case ok && s.Up():
				up++
				if said[t.Name] != "up" {
					said[t.Name] = "up"
					o.event(n, "tunnel "+t.Name, "ok", "up: IKE SA and CHILD SA established", false)
				}
			default:
				reason := "charon has not loaded the tunnel yet"
				if ok && s.Reason != "" {
					reason = s.Reason
				}
				if firstDown == "" {
					firstDown = t.Name + ": " + reason
				}
				if said[t.Name] != reason {
					said[t.Name] = reason
					o.event(n, "tunnel "+t.Name, "running", reason, false)
				}
			}
		}
		if up == len(tunnels) {
			msg := fmt.Sprintf("every changed tunnel is up (%d)", len(tunnels))
			if len(tunnels) == 1 {
				msg = "tunnel " + tunnels[0].Name + " is up"
			}
			o.finish(n, enrolled, "tunnels", "ok", msg)
			return
		}
		if o.d.Now().After(deadline) {
			o.finish(n, enrolled, "tunnels", "failed", "not up after "+o.d.TunnelTimeout.String()+": "+firstDown)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// liveTunnels is charon's view now, nil while charon does not run.
func (o *Owner) liveTunnels() []ipsec.TunnelStatus {
	if o.d.Tunnels == nil {
		return nil
	}
	if cl := o.d.Tunnels(); cl != nil {
		return cl.Status()
	}
	return nil
}

// maxEvents bounds the progress kept across applies.
const maxEvents = 200

// event records a step of apply n; a newer apply's page never sees it.
func (o *Owner) event(n int, step, state, msg string, done bool) {
	o.evMu.Lock()
	defer o.evMu.Unlock()
	if n != o.evGen {
		return
	}
	o.seq++
	o.events = append(o.events, ApplyEvent{Seq: o.seq, Time: o.d.Now(), Step: step, State: state, Message: msg, Done: done})
	if len(o.events) > maxEvents {
		o.events = o.events[len(o.events)-maxEvents:]
	}
}

// Progress returns the latest apply's events after Seq after.
func (o *Owner) Progress(after int) []ApplyEvent {
	o.evMu.Lock()
	defer o.evMu.Unlock()
	var out []ApplyEvent
	for _, e := range o.events {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out
}
