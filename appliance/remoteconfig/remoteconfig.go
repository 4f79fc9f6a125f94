// Package remoteconfig writes the configuration a remote site's VPN
// device needs to peer with one of the box's tunnels, for each kind of
// device the Remote config page offers. Each is written from the tunnel
// as the box will run it (defaults applied): its proposals, lifetimes,
// DPD, identities and networks, seen from the device's side. The
// pre-shared key is never in it: the box never sends a key back.
package remoteconfig

import (
	"embed"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
)

// PSKPlaceholder stands where the device's configuration needs the
// pre-shared key; the operator pastes the key they entered or generated.
const PSKPlaceholder = "<PASTE-THE-PRE-SHARED-KEY-HERE>"

// BoxAddrPlaceholder stands for the box's public address when the tunnel
// does not pin one (the WAN address may come from DHCP or sit behind NAT).
const BoxAddrPlaceholder = "<THIS-BOX-PUBLIC-ADDRESS>"

//go:embed templates/*.tmpl
var templateFiles embed.FS

var templates = template.Must(template.New("remote").Funcs(template.FuncMap{
	"join": strings.Join,
	"mask": mask, "wild": wildcard,
	"inc":        func(i int) int { return i + 1 },
	"upper":      strings.ToUpper,
	"mul":        func(a, b int) int { return a * b },
	"bits":       hashBits,
	"transforms": transforms,
	"hrs":        func(s int) int { return max(s/3600, 1) },
}).Funcs(names).ParseFS(templateFiles, "templates/*.tmpl"))

// data is what every template gets: the tunnel seen from the remote device
// (its local networks are the box's remote networks).
type data struct {
	Name, BoxAddr, BoxID, PeerID, PeerAddr, PSK, Generated string
	IKEv1, BoxInitiates                                    bool
	BoxNets, SiteNets                                      []string
	// IKE and ESP are the tunnel's proposals the device can be
	// configured with, in the tunnel's order (only the first for a device
	// that takes one); Left says which were left out and why.
	IKE, ESP                              []proposal
	Left                                  []string
	IKELife, ChildLife, DPD, DPDTimeout   int  // seconds
	PFS                                   bool // every ESP proposal has a DH group
	BoxIDIsAddr, PeerIDIsAddr, BoxAddrSet bool
}

// IKE1 and ESP1 are the first proposals, for devices that take one.
func (d data) IKE1() proposal { return first(d.IKE) }
func (d data) ESP1() proposal { return first(d.ESP) }

func first(ps []proposal) proposal {
	if len(ps) == 0 {
		return proposal{}
	}
	return ps[0]
}

// Render writes vendor's configuration for tunnel t, which must have its
// defaults applied (config.Config.WithDefaults), with the key as
// PSKPlaceholder. now dates it.
func Render(t config.Tunnel, vendorID string, now time.Time) (string, error) {
	v, ok := LookupVendor(vendorID)
	if !ok {
		return "", fmt.Errorf("remote config: no vendor %q", vendorID)
	}
	d, err := dataFor(t, v, now)
	if err != nil {
		return "", fmt.Errorf("remote config %s for tunnel %s: %w", vendorID, t.Name, err)
	}
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, v.ID+".tmpl", d); err != nil {
		return "", fmt.Errorf("remote config %s for tunnel %s: %w", vendorID, t.Name, err)
	}
	return b.String(), nil
}

func dataFor(t config.Tunnel, v Vendor, now time.Time) (data, error) {
	d := data{Name: t.Name, PSK: PSKPlaceholder, IKEv1: t.IKEVersion == config.IKEv1,
		BoxInitiates: t.Initiation != config.Responder, Generated: now.UTC().Format(time.RFC3339),
		IKELife: secs(t.IKELifetime), ChildLife: secs(t.ChildLifetime), DPD: secs(t.DPDDelay), DPDTimeout: secs(t.DPDTimeout),
		BoxAddr: BoxAddrPlaceholder, PeerAddr: t.PeerAddress}
	if t.LocalAddress.IsValid() {
		d.BoxAddr, d.BoxAddrSet = t.LocalAddress.String(), true
	}
	d.BoxID = t.LocalID
	if d.BoxID == "" {
		d.BoxID = d.BoxAddr
	}
	d.PeerID = t.RemoteID
	if d.PeerID == "" {
		d.PeerID = t.PeerAddress
	}
	d.BoxIDIsAddr = t.LocalID == "" || config.ParseAddr(t.LocalID).IsValid()
	d.PeerIDIsAddr = config.ParseAddr(d.PeerID).IsValid()
	for _, n := range t.LocalNetworks {
		d.BoxNets = append(d.BoxNets, n.String())
	}
	for _, n := range t.RemoteNetworks {
		d.SiteNets = append(d.SiteNets, n.String())
	}
	d.IKE, d.Left = choose(v, t.IKEProposals, true, d.IKEv1, "IKE", d.Left)
	d.ESP, d.Left = choose(v, t.ESPProposals, false, d.IKEv1, "ESP", d.Left)
	if len(d.IKE) == 0 || len(d.ESP) == 0 {
		return d, fmt.Errorf("%s can be configured with none of this tunnel's proposals (%s); add one it takes, e.g. aes256-sha256-modp2048",
			v.Name, strings.Join(append(t.IKEProposals, t.ESPProposals...), ", "))
	}
	d.PFS = allPFS(d.ESP)
	return d, nil
}

// choose keeps the proposals vendor v takes, the first only when it takes
// one, and says which it left out and why.
func choose(v Vendor, props []string, ike, v1 bool, what string, left []string) ([]proposal, []string) {
	var out []proposal
	var cannot, more []string
	for _, s := range props {
		p := parseProposal(s)
		switch {
		case v.takes != nil && !v.takes(p, ike, v1):
			cannot = append(cannot, s)
		case len(out) > 0 && !v.all:
			more = append(more, s)
		default:
			out = append(out, p)
		}
	}
	if len(cannot) > 0 {
		left = append(left, fmt.Sprintf("%s proposals %s: this device cannot be configured with them", what, strings.Join(cannot, ", ")))
	}
	if len(more) > 0 {
		left = append(left, fmt.Sprintf("%s proposals %s: this export configures the first one only", what, strings.Join(more, ", ")))
	}
	return out, left
}

// transforms drops ESP proposals that differ from an earlier one only in
// the DH group, for devices that set the PFS group apart from the
// transforms (one group, the first proposal's).
func transforms(ps []proposal) []proposal {
	var out []proposal
	for _, p := range ps {
		if !slices.ContainsFunc(out, func(o proposal) bool { return o.Bits == p.Bits && o.GCM == p.GCM && o.Integ == p.Integ }) {
			out = append(out, p)
		}
	}
	return out
}

func secs(d config.Duration) int { return int(d.D.Seconds()) }

// mask writes 10.0.0.0/24 as "10.0.0.0 255.255.255.0".
func mask(cidr string) string {
	p := config.ParsePrefix(cidr)
	if !p.IsValid() || !p.Addr().Is4() {
		return cidr
	}
	m := uint32(0xffffffff) << (32 - p.Bits())
	if p.Bits() == 0 {
		m = 0
	}
	return fmt.Sprintf("%s %s", p.Masked().Addr(), dotted(m))
}

// wildcard writes 10.0.0.0/24 as Cisco's ACL "10.0.0.0 0.0.0.255".
func wildcard(cidr string) string {
	p := config.ParsePrefix(cidr)
	if !p.IsValid() || !p.Addr().Is4() {
		return cidr
	}
	m := ^(uint32(0xffffffff) << (32 - p.Bits()))
	if p.Bits() == 0 {
		m = 0xffffffff
	}
	return fmt.Sprintf("%s %s", p.Masked().Addr(), dotted(m))
}

func dotted(m uint32) string { return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&255, m>>8&255, m&255) }
