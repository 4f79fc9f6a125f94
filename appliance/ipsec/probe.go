package ipsec

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/config"
)

// ProbeSet is one IKE proposal a remote device may accept: a preset's, or
// a vendor's default. Legacy sets use algorithms this box allows in a
// tunnel only with the legacy preset and its acknowledgment (SHA-1,
// MODP-1024...) or never (3DES); finding them tells the operator what the
// device must be changed to, or that the legacy preset is the way through.
type ProbeSet struct {
	Proposal string   `json:"proposal"` // strongSwan notation, e.g. aes128-sha1-modp1024
	Labels   []string `json:"labels"`   // who uses it, e.g. "preset fortigate", "AWS (legacy default)"
	Presets  []string `json:"presets,omitempty"`
	Legacy   bool     `json:"legacy,omitempty"`
}

// ProbeSets lists every preset's IKE proposals, then vendors' defaults,
// each proposal once.
func ProbeSets() []ProbeSet {
	var out []ProbeSet
	idx := map[string]int{}
	add := func(prop, label, preset string, legacy bool) {
		i, ok := idx[prop]
		if !ok {
			i = len(out)
			idx[prop] = i
			out = append(out, ProbeSet{Proposal: prop})
		}
		out[i].Legacy = out[i].Legacy || legacy || config.WeakProposal(prop)
		out[i].Labels = append(out[i].Labels, label)
		if preset != "" {
			out[i].Presets = append(out[i].Presets, preset)
		}
	}
	for _, n := range append([]string{""}, config.PresetNames()...) {
		p, _ := config.LookupPreset(n)
		label := "preset " + n
		if n == "" {
			label = "the default preset"
		}
		for _, prop := range p.IKE {
			add(prop, label, n, false)
		}
	}
	for _, v := range vendorDefaults {
		add(v.prop, v.label, "", v.legacy)
	}
	return out
}

// vendorDefaults are IKE proposals that devices ship with or that their
// VPN wizards pick, legacy ones included, for devices nobody re-tuned.
var vendorDefaults = []struct {
	prop, label string
	legacy      bool
}{
	{"aes128-sha256-modp2048", "AWS site-to-site VPN", false},
	{"aes128-sha1-modp1024", "AWS site-to-site VPN (legacy default)", true},
	{"aes256-sha1-modp1024", "Azure VPN gateway (default policy)", true},
	{"aes256-sha256-modp1024", "Azure VPN gateway (IKEv2, older gateways)", true},
	{"aes256-sha1-modp1536", "Cisco ASA (legacy default, group 5)", true},
	{"aes128-sha256-ecp256", "Fortinet FortiGate (wizard default)", false},
	{"aes128-sha1-modp2048", "Fortinet FortiGate (older default)", true},
	{"3des-sha1-modp1024", "Palo Alto Networks (legacy default profile)", true},
	{"aes256-sha1-modp2048", "pfSense (before 2.4 default)", true},
}

// Probe outcomes.
const (
	ProbeAccepted = "accepted"  // the device answered IKE_SA_INIT with this proposal
	ProbeRefused  = "refused"   // NO_PROPOSAL_CHOSEN (or another DH group asked for)
	ProbeNoAnswer = "no answer" // nothing came back in time
	ProbeError    = "error"     // charon could not even try
)

// ProbeResult is one try.
type ProbeResult struct {
	Set     ProbeSet      `json:"set"`
	Outcome string        `json:"outcome"`
	Detail  string        `json:"detail,omitempty"`
	Took    time.Duration `json:"took_ns"`
}

// ProbeOptions bound a probe.
type ProbeOptions struct {
	// Socket is charon's VICI socket ("" means SocketPath).
	Socket string
	// Sets to try (default ProbeSets()), at most MaxProbeSets.
	Sets []ProbeSet
	// Interval between the starts of two tries; never below one second.
	Interval time.Duration
	// TryTimeout bounds one try (default 5 s); Total the whole (default 2 min).
	TryTimeout, Total time.Duration
	// Progress gets each result as it comes.
	Progress func(done, total int, r ProbeResult)
}

// MaxProbeSets bounds the count of tries of one probe.
const MaxProbeSets = 24

// Probe finds which IKE proposals the remote device of tunnel t accepts:
// for each set, one IKE_SA_INIT from a temporary connection. The
// connection's local authentication is a pre-shared key for an ID no
// secret is loaded for, so charon stops before sending IKE_AUTH: the
// device never sees an authentication attempt. Tries start at most once
// a second.
func Probe(ctx context.Context, t config.Tunnel, o ProbeOptions) ([]ProbeResult, error) {
	if o.Socket == "" {
		o.Socket = SocketPath
	}
	if len(o.Sets) == 0 {
		o.Sets = ProbeSets()
	}
	if len(o.Sets) > MaxProbeSets {
		o.Sets = o.Sets[:MaxProbeSets]
	}
	o.Interval = max(o.Interval, time.Second)
	if o.TryTimeout <= 0 {
		o.TryTimeout = 5 * time.Second
	}
	if o.Total <= 0 {
		o.Total = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Total)
	defer cancel()

	s, conns, err := openSession(o.Socket)
	if err != nil {
		return nil, fmt.Errorf("probe %q: connect to charon: %w", t.Name, err)
	}
	defer s.Close()
	// A wedged charon must not hold the probe past its bound.
	stop := context.AfterFunc(ctx, func() { conns.setDeadline(time.Now()) })
	defer stop()

	var out []ProbeResult
	next := time.Now()
	for i, set := range o.Sets {
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("probe %q: stopped after %d of %d sets: %w", t.Name, i, len(o.Sets), ctx.Err())
		case <-time.After(time.Until(next)):
		}
		next = time.Now().Add(o.Interval)
		// "_" is in no tunnel's name (config.validName), so a probe never
		// replaces or unloads a tunnel's connection.
		r := probeOne(s, t, fmt.Sprintf("_probe-%d", i), set, o.TryTimeout)
		out = append(out, r)
		if o.Progress != nil {
			o.Progress(i+1, len(o.Sets), r)
		}
	}
	return out, nil
}

// probeID is the local ID of a probe; no secret exists for it.
const probeID = "probe.tunneler.invalid"

func probeOne(s *vici.Session, t config.Tunnel, name string, set ProbeSet, timeout time.Duration) ProbeResult {
	t0 := time.Now()
	r := ProbeResult{Set: set}
	conn := vici.NewMessage()
	version := "2"
	if t.IKEVersion == config.IKEv1 {
		version = "1"
	}
	local := "%any"
	if t.LocalAddress.Addr.IsValid() {
		local = t.LocalAddress.Addr.String()
	}
	conn.Set("version", version)
	conn.Set("local_addrs", []string{local})
	conn.Set("remote_addrs", []string{t.PeerAddress})
	conn.Set("proposals", []string{set.Proposal})
	conn.Set("aggressive", "no")
	conn.Set("keyingtries", "1")
	conn.Set("encap", yesno(t.ForceUDPEncap))
	conn.Set("local", msg("auth", "psk", "id", probeID))
	conn.Set("remote", msg("auth", "psk"))
	child := msg("start_action", "none", "policies", "no", "mode", "tunnel")
	child.Set("esp_proposals", []string{"aes256gcm16", "aes256-sha256"})
	children := vici.NewMessage()
	children.Set(name, child)
	conn.Set("children", children)
	load := vici.NewMessage()
	load.Set(name, conn)
	if _, err := s.CommandRequest("load-conn", load); err != nil {
		r.Outcome, r.Detail, r.Took = ProbeError, "load the probe connection: "+err.Error(), time.Since(t0)
		return r
	}
	defer s.CommandRequest("unload-conn", msg("name", name))
	defer s.CommandRequest("terminate", msg("ike", name, "timeout", "-1", "force", "yes"))

	in := msg("child", name, "ike", name, "timeout", fmt.Sprint(timeout.Milliseconds()), "init-limits", "no", "loglevel", "1")
	logs, _ := s.StreamedCommandRequest("initiate", "control-log", in) // fails by design: no key
	var lines []string
	for _, m := range logs {
		if l, ok := m.Get("msg").(string); ok {
			lines = append(lines, l)
		}
	}
	r.Outcome, r.Detail = probeOutcome(lines)
	r.Took = time.Since(t0)
	return r
}

// probeOutcome reads one try's control log.
func probeOutcome(lines []string) (outcome, detail string) {
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "selected proposal: "):
			return ProbeAccepted, strings.TrimPrefix(l, "selected proposal: ")
		case strings.Contains(l, "received NO_PROPOSAL_CHOSEN"):
			return ProbeRefused, "NO_PROPOSAL_CHOSEN"
		case strings.Contains(l, "peer didn't accept DH group"):
			return ProbeRefused, l
		case strings.Contains(l, "received AUTHENTICATION_FAILED"), strings.Contains(l, "no IKE config found"):
			return ProbeError, l
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "giving up after") || strings.Contains(l, "retransmit") {
			return ProbeNoAnswer, "no answer to IKE_SA_INIT"
		}
	}
	return ProbeNoAnswer, "no answer to IKE_SA_INIT in time"
}
