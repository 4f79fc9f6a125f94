package remoteconfig

import (
	"fmt"

	"github.com/tunneler/tunneler/appliance/config"
	"slices"
	"strings"
)

// Vendor is one kind of remote device the box writes a configuration for.
type Vendor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	File string `json:"file"` // the download's name, after the tunnel's
	// takes says which of the tunnel's proposals the device can be
	// configured with; ike tells IKE proposals from ESP ones. Nil takes
	// every proposal (strongSwan, which reads them verbatim).
	takes func(p proposal, ike, v1 bool) bool
	// all: the device takes a list of proposals; otherwise the export
	// configures the first one it can.
	all bool
}

// vendors, in the order the Remote config page lists them.
var vendors = []Vendor{
	{ID: "strongswan", Name: "strongSwan (swanctl.conf)", File: "swanctl.conf", all: true},
	{ID: "libreswan", Name: "Libreswan (ipsec.conf and ipsec.secrets)", File: "ipsec.conf", all: true,
		// Libreswan 4 builds without DH group 2 (algparse: "IKE DH
		// algorithm 'modp1024' is not supported") and has no Brainpool
		// or X448 groups.
		takes: spelled(5, 14, 15, 16, 18, 19, 20, 21, 31)},
	{ID: "cisco-ios", Name: "Cisco IOS / IOS-XE", File: "cisco-ios.txt", all: true,
		takes: spelled(1, 2, 5, 14, 15, 16, 19, 20, 21, 24)},
	{ID: "cisco-asa", Name: "Cisco ASA", File: "cisco-asa.txt", all: true, takes: asaTakes},
	{ID: "fortigate", Name: "FortiGate (FortiOS CLI)", File: "fortigate.txt",
		takes: spelled(1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 27, 28, 29, 30, 31, 32)},
	{ID: "paloalto", Name: "Palo Alto (PAN-OS set commands)", File: "paloalto.txt",
		takes: spelled(1, 2, 5, 14, 19, 20, 21)},
	{ID: "juniper-srx", Name: "Juniper SRX (Junos set commands)", File: "juniper-srx.txt", all: true,
		takes: spelled(1, 2, 5, 14, 15, 16, 19, 20, 21, 24)},
	{ID: "mikrotik", Name: "MikroTik RouterOS v7", File: "mikrotik.rsc", takes: mikrotikTakes},
	{ID: "vyos", Name: "VyOS / EdgeOS (set vpn ipsec)", File: "vyos.txt", all: true,
		takes: spelled(1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)},
	{ID: "pfsense", Name: "pfSense / OPNsense (settings to enter)", File: "pfsense.txt",
		takes: spelled(1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 28, 29, 30, 31)},
}

// Vendors lists the devices the box writes configurations for.
func Vendors() []Vendor { return slices.Clone(vendors) }

// LookupVendor finds a vendor by ID.
func LookupVendor(id string) (Vendor, bool) {
	i := slices.IndexFunc(vendors, func(v Vendor) bool { return v.ID == id })
	if i < 0 {
		return Vendor{}, false
	}
	return vendors[i], true
}

// spelled takes AES-CBC with SHA-1/SHA-2 or AES-GCM-16 and one of the
// DH groups the device knows (an ESP proposal without one is fine).
func spelled(groupNums ...int) func(p proposal, ike, v1 bool) bool {
	return func(p proposal, ike, v1 bool) bool {
		if p.Odd || p.Bits == 0 || (!p.GCM && p.Integ == "") {
			return false
		}
		return (!ike && p.Group == 0) || slices.Contains(groupNums, p.Group)
	}
}

// asaTakes: an ASA's IKEv1 policies hash with SHA-1 (or MD5) only, and
// its IKEv1 transform sets have no GCM and no SHA-2.
func asaTakes(p proposal, ike, v1 bool) bool {
	if !spelled(2, 5, 14, 15, 16, 19, 20, 21, 24, 31)(p, ike, v1) {
		return false
	}
	return !v1 || (!p.GCM && p.Integ == "sha1")
}

// mikrotikTakes: RouterOS's IKE profile has AES-CBC only and no SHA-384;
// its proposals (ESP) take GCM.
func mikrotikTakes(p proposal, ike, v1 bool) bool {
	if !spelled(2, 5, 14, 15, 16, 17, 18, 19, 20, 21)(p, ike, v1) {
		return false
	}
	if ike && p.GCM {
		return false
	}
	return p.GCM || p.Integ != "sha384"
}

// The names each device uses, for its template.
var names = map[string]any{
	// Cisco IOS / IOS-XE
	"iosEnc": func(p proposal) string { return pick(p.GCM, "aes-gcm-", "aes-cbc-") + fmt.Sprint(p.Bits) },
	"iosESP": func(p proposal) string {
		if p.GCM {
			return fmt.Sprintf("esp-gcm %d", p.Bits)
		}
		return fmt.Sprintf("esp-aes %d esp-%s-hmac", p.Bits, pick(p.Integ == "sha1", "sha", p.Integ))
	},
	"iosHash": func(h string) string { return pick(h == "sha1", "sha", h) },
	// Cisco ASA
	"asaEnc": func(p proposal) string {
		s := pick(p.GCM, "aes-gcm", "aes")
		if p.Bits != 128 {
			s += fmt.Sprintf("-%d", p.Bits)
		}
		return s
	},
	"asaHash":     func(h string) string { return pick(h == "sha1", "sha", h) },
	"asaESPInteg": func(p proposal) string { return pick(p.GCM, "null", "sha-"+hashBits(p.Integ)) },
	"asaESPv1": func(p proposal) string {
		enc := "esp-aes"
		if p.Bits != 128 {
			enc += fmt.Sprintf("-%d", p.Bits)
		}
		return enc + " " + pick(p.Integ == "sha1", "esp-sha-hmac", "esp-"+p.Integ+"-hmac")
	},
	// FortiGate
	"fortiP1": func(p proposal) string {
		if p.GCM {
			return fmt.Sprintf("aes%dgcm-prf%s", p.Bits, p.prf())
		}
		return fmt.Sprintf("aes%d-%s", p.Bits, p.Integ)
	},
	"fortiP2": func(p proposal) string {
		if p.GCM {
			return fmt.Sprintf("aes%dgcm", p.Bits)
		}
		return fmt.Sprintf("aes%d-%s", p.Bits, p.Integ)
	},
	// Palo Alto
	"panEnc": func(p proposal) string { return fmt.Sprintf("aes-%d-%s", p.Bits, pick(p.GCM, "gcm", "cbc")) },
	// Juniper SRX
	"junosEnc":     func(p proposal) string { return fmt.Sprintf("aes-%d-%s", p.Bits, pick(p.GCM, "gcm", "cbc")) },
	"junosIKEAuth": func(h string) string { return pick(h == "sha1", "sha1", "sha-"+hashBits(h)) },
	"junosESPAuth": func(h string) string {
		switch h {
		case "sha1":
			return "hmac-sha1-96"
		case "sha256":
			return "hmac-sha-256-128"
		}
		return "hmac-sha-" + hashBits(h)
	},
	// MikroTik RouterOS
	"mtIKEEnc": func(p proposal) string { return fmt.Sprintf("aes-%d", p.Bits) },
	"mtESPEnc": func(p proposal) string { return fmt.Sprintf("aes-%d-%s", p.Bits, pick(p.GCM, "gcm", "cbc")) },
	// VyOS / EdgeOS
	"vyosEnc": func(p proposal) string { return fmt.Sprintf("aes%d%s", p.Bits, pick(p.GCM, "gcm128", "")) },
	// Libreswan
	"libreIKE": func(ps []proposal) string { return libreList(ps, true, false) },
	"libreESP": func(ps []proposal, v1 bool) string { return libreList(ps, false, v1) },
	// An FQDN ID is written @fw.example.com, or libreswan resolves it.
	"libreID": func(id string) string {
		if config.ParseAddr(id).IsValid() || strings.ContainsAny(id, "@=<") {
			return id
		}
		return "@" + id
	},
	// pfSense
	"pfEnc": func(p proposal) string {
		return fmt.Sprintf("AES%s, %d bits", pick(p.GCM, "-GCM (128-bit ICV)", ""), p.Bits)
	},
}

// libreList spells proposals as libreswan's ike= and esp= want them,
// e.g. aes_gcm256-sha2_256-dh19 (with GCM the hash is the PRF) or
// aes256-sha2_256-modp2048. Libreswan 4 takes one DH group for all ESP
// proposals ("more than one IKEv2 ESP DH algorithm requires unimplemented
// CHILD_SA INVALID_KE", says its algparse) and no ECP group in IKEv1 ESP;
// unless the tunnel's ESP proposals share one such group, they are
// written without it, and pfs=yes then uses the IKE SA's group, which the
// box's ESP proposals also list.
func libreList(ps []proposal, ike, v1 bool) string {
	group := ps[0].Group
	for _, p := range ps {
		if p.Group != group || (v1 && !strings.HasPrefix(p.DH, "modp")) {
			group = 0
		}
	}
	var out []string
	for _, p := range ps {
		enc := fmt.Sprintf("%s%d", pick(p.GCM, "aes_gcm", "aes"), p.Bits)
		hash := libreHash(p.Integ)
		if ike {
			hash = libreHash(p.prf())
		} else if p.GCM {
			hash = "null"
		}
		s := enc + "-" + hash
		if ike || group != 0 {
			s += "-" + libreDH(p)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, ",")
}

func libreHash(h string) string { return pick(h == "sha1", "sha1", "sha2_"+hashBits(h)) }

func libreDH(p proposal) string {
	if strings.HasPrefix(p.DH, "modp") {
		return p.DH
	}
	return fmt.Sprintf("dh%d", p.Group)
}

// allPFS reports whether every proposal carries a DH group.
func allPFS(ps []proposal) bool {
	return !slices.ContainsFunc(ps, func(p proposal) bool { return p.Group == 0 })
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
