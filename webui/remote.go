package webui

import (
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
)

// PSKPlaceholder stands where the remote device's configuration needs the
// pre-shared key. Secrets never go back to a browser, so the operator
// pastes the key (which they entered or copied when it was generated).
const PSKPlaceholder = "<PASTE-THE-PRE-SHARED-KEY-HERE>"

// boxAddrPlaceholder stands for the box's public address when the tunnel
// does not pin one (the WAN address may come from DHCP or sit behind NAT).
const boxAddrPlaceholder = "<THIS-BOX-PUBLIC-ADDRESS>"

type vendor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	File string `json:"file"`
}

var vendors = []vendor{
	{"strongswan", "strongSwan (swanctl.conf)", "swanctl.conf"},
	{"libreswan", "Libreswan (ipsec.conf)", "ipsec.conf"},
	{"cisco-ios", "Cisco IOS / IOS-XE (IKEv2)", "cisco-ios.txt"},
	{"fortigate", "FortiGate (FortiOS CLI)", "fortigate.txt"},
	{"paloalto", "Palo Alto (PAN-OS set commands)", "paloalto.txt"},
	{"pfsense", "pfSense / OPNsense (settings to enter)", "pfsense.txt"},
}

// proposal is a strongSwan proposal string split into its parts.
type proposal struct {
	Enc, Integ, PRF, DH string // strongSwan names
	Bits                string
	GCM                 bool
	Group               int // IANA DH group number
}

var dhGroups = map[string]int{"modp2048": 14, "modp3072": 15, "modp4096": 16, "modp6144": 17, "modp8192": 18,
	"ecp256": 19, "ecp384": 20, "ecp521": 21, "ecp256bp": 28, "ecp384bp": 29, "ecp512bp": 30, "x25519": 31, "curve25519": 31, "x448": 32, "curve448": 32}

func parseProposal(p string) proposal {
	var out proposal
	for _, part := range strings.Split(strings.ToLower(p), "-") {
		switch {
		case strings.HasPrefix(part, "aes"):
			out.Enc = part
			out.GCM = strings.Contains(part, "gcm")
			out.Bits = strings.TrimPrefix(part, "aes")
			if i := strings.IndexAny(out.Bits, "gc"); i >= 0 {
				out.Bits = out.Bits[:i]
			}
		case strings.HasPrefix(part, "prf"):
			out.PRF = strings.TrimPrefix(part, "prf")
		case strings.HasPrefix(part, "sha"):
			out.Integ = strings.ReplaceAll(part, "2_", "")
		case dhGroups[part] != 0:
			out.DH, out.Group = part, dhGroups[part]
		}
	}
	if out.Integ == "" {
		out.Integ = out.PRF
	}
	if out.Bits == "" {
		out.Bits = "256"
	}
	return out
}

// remoteData is what every vendor template gets: the tunnel seen from the
// remote device (its local networks are our remote networks).
type remoteData struct {
	Name, BoxAddr, BoxID, PeerID, PeerAddr, PSK string
	IKEv1                                       bool
	BoxNets, SiteNets                           []string
	IKE, ESP                                    proposal
	IKEProps, ESPProps                          []string
	IKELife, ChildLife                          int // seconds
	DPD                                         int
	Generated                                   string
}

func remoteFor(t config.Tunnel, now time.Time) remoteData {
	d := remoteData{Name: t.Name, PSK: PSKPlaceholder, IKEv1: t.IKEVersion == config.IKEv1,
		IKEProps: t.IKEProposals, ESPProps: t.ESPProposals, Generated: now.UTC().Format(time.RFC3339),
		IKELife: int(t.IKELifetime.D.Seconds()), ChildLife: int(t.ChildLifetime.D.Seconds()), DPD: int(t.DPDDelay.D.Seconds())}
	d.BoxAddr = boxAddrPlaceholder
	if t.LocalAddress.IsValid() {
		d.BoxAddr = t.LocalAddress.String()
	}
	d.BoxID = t.LocalID
	if d.BoxID == "" {
		d.BoxID = d.BoxAddr
	}
	d.PeerAddr = t.PeerAddress
	d.PeerID = t.RemoteID
	if d.PeerID == "" {
		d.PeerID = t.PeerAddress
	}
	for _, n := range t.LocalNetworks {
		d.BoxNets = append(d.BoxNets, n.String())
	}
	for _, n := range t.RemoteNetworks {
		d.SiteNets = append(d.SiteNets, n.String())
	}
	if len(d.IKEProps) > 0 {
		d.IKE = parseProposal(d.IKEProps[0])
	}
	if len(d.ESPProps) > 0 {
		d.ESP = parseProposal(d.ESPProps[0])
	}
	return d
}

var remoteFuncs = template.FuncMap{
	"join": strings.Join,
	"mask": func(cidr string) string { // 10.0.0.0/24 -> "10.0.0.0 255.255.255.0"
		p := config.ParsePrefix(cidr)
		if !p.IsValid() || !p.Addr().Is4() {
			return cidr
		}
		bits := p.Bits()
		m := uint32(0xffffffff) << (32 - bits)
		if bits == 0 {
			m = 0
		}
		return fmt.Sprintf("%s %d.%d.%d.%d", p.Masked().Addr(), m>>24, m>>16&255, m>>8&255, m&255)
	},
	"wild": func(cidr string) string { // Cisco ACL wildcard
		p := config.ParsePrefix(cidr)
		if !p.IsValid() || !p.Addr().Is4() {
			return cidr
		}
		m := ^(uint32(0xffffffff) << (32 - p.Bits()))
		if p.Bits() == 0 {
			m = 0xffffffff
		}
		return fmt.Sprintf("%s %d.%d.%d.%d", p.Masked().Addr(), m>>24, m>>16&255, m>>8&255, m&255)
	},
	"ciscoEnc": func(p proposal) string {
		if p.GCM {
			return "aes-gcm-" + p.Bits
		}
		return "aes-cbc-" + p.Bits
	},
	"ciscoESP": func(p proposal) string {
		if p.GCM {
			return "esp-gcm " + p.Bits
		}
		return "esp-aes " + p.Bits + " esp-" + strings.Replace(p.Integ, "sha", "sha", 1) + "-hmac"
	},
	"fortiPair": func(p proposal) string {
		if p.GCM {
			return "aes" + p.Bits + "gcm-prf" + p.PRF
		}
		return "aes" + p.Bits + "-" + p.Integ
	},
	"fortiP2": func(p proposal) string {
		if p.GCM {
			return "aes" + p.Bits + "gcm"
		}
		return "aes" + p.Bits + "-" + p.Integ
	},
	"panEnc": func(p proposal) string {
		if p.GCM {
			return "aes-" + p.Bits + "-gcm"
		}
		return "aes-" + p.Bits + "-cbc"
	},
	"inc":  func(i int) int { return i + 1 },
	"mins": func(s int) int { return s / 60 },
	"hrs":  func(s int) int { return max(s/3600, 1) },
	"libre": func(props []string) string {
		var out []string
		for _, p := range props {
			out = append(out, p)
		}
		return strings.Join(out, ",")
	},
}

var remoteTemplates = template.Must(template.New("remote").Funcs(remoteFuncs).Parse(`
{{define "strongswan"}}# swanctl.conf for the remote site's strongSwan, generated by Tunneler {{.Generated}}
# Put the pre-shared key in place of {{.PSK}} (it is never sent back by the box).
connections {
  tunneler-{{.Name}} {
    version = {{if .IKEv1}}1{{else}}2{{end}}
    remote_addrs = {{.BoxAddr}}
    proposals = {{join .IKEProps ","}}
    rekey_time = {{.IKELife}}s
    dpd_delay = {{.DPD}}s
    local {
      auth = psk
      id = {{.PeerID}}
    }
    remote {
      auth = psk
      id = {{.BoxID}}
    }
    children {
      tunneler-{{.Name}} {
        local_ts = {{join .SiteNets ","}}
        remote_ts = {{join .BoxNets ","}}
        esp_proposals = {{join .ESPProps ","}}
        rekey_time = {{.ChildLife}}s
        dpd_action = restart
        start_action = trap
      }
    }
  }
}
secrets {
  ike-tunneler-{{.Name}} {
    id-1 = {{.PeerID}}
    id-2 = {{.BoxID}}
    secret = "{{.PSK}}"
  }
}
{{end}}
{{define "libreswan"}}# /etc/ipsec.d/tunneler-{{.Name}}.conf for Libreswan, generated by Tunneler {{.Generated}}
conn tunneler-{{.Name}}
    ikev2={{if .IKEv1}}no{{else}}insist{{end}}
    authby=secret
    left=%defaultroute
    leftid={{.PeerID}}
    leftsubnets={{"{"}}{{join .SiteNets " "}}{{"}"}}
    right={{.BoxAddr}}
    rightid={{.BoxID}}
    rightsubnets={{"{"}}{{join .BoxNets " "}}{{"}"}}
    ike={{libre .IKEProps}}
    esp={{libre .ESPProps}}
    ikelifetime={{.IKELife}}s
    salifetime={{.ChildLife}}s
    dpddelay={{.DPD}}
    auto=start

# /etc/ipsec.d/tunneler-{{.Name}}.secrets
{{.PeerID}} {{.BoxID}} : PSK "{{.PSK}}"
{{end}}
{{define "cisco-ios"}}! Cisco IOS / IOS-XE IKEv2 for tunnel {{.Name}}, generated by Tunneler {{.Generated}}
! Replace {{.PSK}} with the pre-shared key. WAN interface assumed GigabitEthernet0/0.
crypto ikev2 proposal TUNNELER-{{.Name}}
 encryption {{ciscoEnc .IKE}}
{{- if .IKE.GCM}}
 prf {{.IKE.PRF}}
{{- else}}
 integrity {{.IKE.Integ}}
{{- end}}
 group {{.IKE.Group}}
crypto ikev2 policy TUNNELER-{{.Name}}
 proposal TUNNELER-{{.Name}}
crypto ikev2 keyring TUNNELER-{{.Name}}
 peer tunneler
  address {{.BoxAddr}}
  pre-shared-key {{.PSK}}
crypto ikev2 profile TUNNELER-{{.Name}}
 match identity remote address {{.BoxAddr}} 255.255.255.255
 identity local address {{.PeerID}}
 authentication remote pre-share
 authentication local pre-share
 keyring local TUNNELER-{{.Name}}
 lifetime {{.IKELife}}
 dpd {{.DPD}} 5 on-demand
crypto ipsec transform-set TUNNELER-{{.Name}} {{ciscoESP .ESP}}
 mode tunnel
ip access-list extended TUNNELER-{{.Name}}
{{- range $s := .SiteNets}}{{range $b := $.BoxNets}}
 permit ip {{wild $s}} {{wild $b}}
{{- end}}{{end}}
crypto map TUNNELER 10 ipsec-isakmp
 set peer {{.BoxAddr}}
 set transform-set TUNNELER-{{.Name}}
 set pfs group{{.ESP.Group}}
 set security-association lifetime seconds {{.ChildLife}}
 set ikev2-profile TUNNELER-{{.Name}}
 match address TUNNELER-{{.Name}}
interface GigabitEthernet0/0
 crypto map TUNNELER
{{end}}
{{define "fortigate"}}# FortiOS CLI for tunnel {{.Name}}, generated by Tunneler {{.Generated}}
# Replace {{.PSK}} with the pre-shared key; "wan1" is the WAN port.
config vpn ipsec phase1-interface
    edit "tunneler-{{.Name}}"
        set interface "wan1"
        set ike-version {{if .IKEv1}}1{{else}}2{{end}}
        set peertype any
        set net-device disable
        set proposal {{fortiPair .IKE}}
        set dhgrp {{.IKE.Group}}
        set localid "{{.PeerID}}"
        set remote-gw {{.BoxAddr}}
        set psksecret {{.PSK}}
        set keylife {{.IKELife}}
        set dpd on-idle
        set dpd-retryinterval {{.DPD}}
    next
end
config vpn ipsec phase2-interface
{{- range $i, $s := .SiteNets}}{{range $j, $b := $.BoxNets}}
    edit "tunneler-{{$.Name}}-{{inc $i}}-{{inc $j}}"
        set phase1name "tunneler-{{$.Name}}"
        set proposal {{fortiP2 $.ESP}}
        set dhgrp {{$.ESP.Group}}
        set keylifeseconds {{$.ChildLife}}
        set src-subnet {{mask $s}}
        set dst-subnet {{mask $b}}
    next
{{- end}}{{end}}
end
config router static
{{- range $j, $b := .BoxNets}}
    edit 0
        set dst {{mask $b}}
        set device "tunneler-{{$.Name}}"
    next
{{- end}}
end
# Add firewall policies between your LAN and "tunneler-{{.Name}}" in both directions.
{{end}}
{{define "paloalto"}}# PAN-OS set commands for tunnel {{.Name}}, generated by Tunneler {{.Generated}}
# Replace {{.PSK}}; ethernet1/1 is the WAN, tunnel.10 a free tunnel interface.
set network ike crypto-profiles ike-crypto-profiles tunneler-{{.Name}} encryption {{panEnc .IKE}}
set network ike crypto-profiles ike-crypto-profiles tunneler-{{.Name}} hash {{if .IKE.GCM}}{{.IKE.PRF}}{{else}}{{.IKE.Integ}}{{end}}
set network ike crypto-profiles ike-crypto-profiles tunneler-{{.Name}} dh-group group{{.IKE.Group}}
set network ike crypto-profiles ike-crypto-profiles tunneler-{{.Name}} lifetime seconds {{.IKELife}}
set network ike crypto-profiles ipsec-crypto-profiles tunneler-{{.Name}} esp encryption {{panEnc .ESP}}
set network ike crypto-profiles ipsec-crypto-profiles tunneler-{{.Name}} esp authentication {{if .ESP.GCM}}none{{else}}{{.ESP.Integ}}{{end}}
set network ike crypto-profiles ipsec-crypto-profiles tunneler-{{.Name}} dh-group group{{.ESP.Group}}
set network ike crypto-profiles ipsec-crypto-profiles tunneler-{{.Name}} lifetime seconds {{.ChildLife}}
set network ike gateway tunneler-{{.Name}} protocol version {{if .IKEv1}}ikev1{{else}}ikev2{{end}}
set network ike gateway tunneler-{{.Name}} protocol {{if .IKEv1}}ikev1{{else}}ikev2{{end}} ike-crypto-profile tunneler-{{.Name}}
set network ike gateway tunneler-{{.Name}} protocol {{if .IKEv1}}ikev1{{else}}ikev2{{end}} dpd enable yes interval {{.DPD}}
set network ike gateway tunneler-{{.Name}} authentication pre-shared-key key {{.PSK}}
set network ike gateway tunneler-{{.Name}} local-address interface ethernet1/1
set network ike gateway tunneler-{{.Name}} local-id type ipaddr id {{.PeerID}}
set network ike gateway tunneler-{{.Name}} peer-address ip {{.BoxAddr}}
set network ike gateway tunneler-{{.Name}} peer-id type ipaddr id {{.BoxID}}
set network interface tunnel units tunnel.10
set network tunnel ipsec tunneler-{{.Name}} tunnel-interface tunnel.10
set network tunnel ipsec tunneler-{{.Name}} auto-key ike-gateway tunneler-{{.Name}}
set network tunnel ipsec tunneler-{{.Name}} auto-key ipsec-crypto-profile tunneler-{{.Name}}
{{- range $i, $s := .SiteNets}}{{range $j, $b := $.BoxNets}}
set network tunnel ipsec tunneler-{{$.Name}} auto-key proxy-id pid{{inc $i}}-{{inc $j}} local {{$s}} remote {{$b}} protocol any
{{- end}}{{end}}
{{- range $j, $b := .BoxNets}}
set network virtual-router default routing-table ip static-route tunneler-{{$.Name}}-{{inc $j}} destination {{$b}} interface tunnel.10
{{- end}}
# Put tunnel.10 in a zone and allow traffic between it and your LAN zone.
{{end}}
{{define "pfsense"}}pfSense / OPNsense: VPN > IPsec, for tunnel {{.Name}}. Generated by Tunneler {{.Generated}}

Phase 1
  Key Exchange version:   {{if .IKEv1}}IKEv1 (Main mode){{else}}IKEv2{{end}}
  Remote Gateway:         {{.BoxAddr}}
  Authentication Method:  Mutual PSK
  My identifier:          {{.PeerID}}
  Peer identifier:        {{.BoxID}}
  Pre-Shared Key:         {{.PSK}}
  Encryption:             AES{{if .IKE.GCM}}-GCM 128 bits ICV{{end}} {{.IKE.Bits}} bits, Hash {{if .IKE.GCM}}{{.IKE.PRF}}{{else}}{{.IKE.Integ}}{{end}}, DH group {{.IKE.Group}}
  Lifetime:               {{.IKELife}} s
  Dead Peer Detection:    on, delay {{.DPD}} s
{{range $i, $s := .SiteNets}}{{range $j, $b := $.BoxNets}}
Phase 2 #{{inc $i}}.{{inc $j}}
  Mode:            Tunnel IPv4
  Local Network:   {{$s}}
  Remote Network:  {{$b}}
  Protocol:        ESP
  Encryption:      AES{{if $.ESP.GCM}}-GCM 128 bits ICV{{end}} {{$.ESP.Bits}} bits{{if not $.ESP.GCM}}, Hash {{$.ESP.Integ}}{{end}}
  PFS key group:   {{$.ESP.Group}}
  Lifetime:        {{$.ChildLife}} s
{{end}}{{end}}
(strongSwan proposals, for reference: IKE {{join .IKEProps ", "}}; ESP {{join .ESPProps ", "}})
{{end}}
`))

// RemoteConfig renders the remote device's configuration for tunnel t
// (with defaults applied) for vendor id, with the PSK as PSKPlaceholder.
func RemoteConfig(t config.Tunnel, vendorID string, now time.Time) (string, error) {
	var b strings.Builder
	if err := remoteTemplates.ExecuteTemplate(&b, vendorID, remoteFor(t, now)); err != nil {
		return "", fmt.Errorf("remote config %s: %w", vendorID, err)
	}
	return strings.TrimLeft(b.String(), "\n"), nil
}

func (s *Server) remoteConfig(w http.ResponseWriter, r *http.Request, sess *session) {
	name, vid := r.PathValue("name"), r.PathValue("vendor")
	c, _, _ := s.box.Config()
	i := findTunnel(c.WithDefaults(), name)
	var v *vendor
	for k := range vendors {
		if vendors[k].ID == vid {
			v = &vendors[k]
		}
	}
	if i < 0 || v == nil {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no configuration %q for tunnel %q", vid, name))
		return
	}
	out, err := RemoteConfig(c.WithDefaults().Tunnels[i], vid, s.now())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+"-"+v.File))
	w.Write([]byte(out))
}
