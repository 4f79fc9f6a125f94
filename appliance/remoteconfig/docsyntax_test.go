package remoteconfig

import (
	"regexp"
	"strings"
	"testing"
)

// grammar is what a vendor's documentation says its statements look like,
// for the settings the exports use: every line of an export that is not
// a comment must match one of the rules. A rule fixes the statement and
// the values the document lists for it (algorithms, groups, ranges);
// names, addresses and the key placeholder are free.
type grammar struct {
	doc     string // URL and section of the vendor's document
	comment string // what starts a comment line
	rules   []string
}

// Pieces shared by the rules.
const (
	name  = `[A-Za-z0-9_.-]+`
	addr  = `(\d+\.\d+\.\d+\.\d+|<THIS-BOX-PUBLIC-ADDRESS>)`
	cidr  = `\d+\.\d+\.\d+\.\d+/\d+`
	dmask = `\d+\.\d+\.\d+\.\d+ \d+\.\d+\.\d+\.\d+` // address and dotted mask
	id    = `(\d+\.\d+\.\d+\.\d+|<THIS-BOX-PUBLIC-ADDRESS>|[a-z0-9.-]+\.[a-z]+)`
	psk   = `<PASTE-THE-PRE-SHARED-KEY-HERE>`
	num   = `\d+`
)

var grammars = map[string]grammar{
	"strongswan": {
		doc:     "https://docs.strongswan.org/docs/5.9/swanctl/swanctlConf.html (connections.<conn>.*, children.<child>.*, secrets.ike<suffix>.*)",
		comment: "#",
		rules: []string{
			`\s*(connections|secrets|local|remote|children) \{`, `\s*(tunneler|ike-tunneler)-` + name + ` \{`, `\s*\}`,
			`\s*version = [12]`, `\s*remote_addrs = ` + addr,
			`\s*(proposals|esp_proposals) = [a-z0-9]+(-[a-z0-9_]+)+(,[a-z0-9]+(-[a-z0-9_]+)+)*`,
			`\s*(rekey_time|dpd_delay|dpd_timeout) = \d+s`, `\s*auth = psk`, `\s*id(-\d)? = ` + id,
			`\s*(local_ts|remote_ts) = ` + cidr + `(,` + cidr + `)*`,
			`\s*dpd_action = (clear|trap|restart)`, `\s*start_action = (none|trap|start)`, `\s*secret = "` + psk + `"`,
		},
	},
	"libreswan": {
		doc:     "https://manpages.ubuntu.com/manpages/noble/man5/ipsec.conf.5.html (libreswan 4.14: CONN SECTIONS: ikev2, authby, left, leftid, leftsubnets, ike, esp, pfs, ikelifetime, salifetime, dpddelay, dpdtimeout, auto) and ipsec.secrets(5) (PSK entries)",
		comment: "#",
		rules: []string{
			`conn tunneler-` + name, `    ikev2=(insist|no)`, `    authby=secret`, `    left=%defaultroute`, `    right=` + addr,
			`    (left|right)id=@?` + id, `    (left|right)subnets=\{` + cidr + `( ` + cidr + `)*\}`,
			`    (ike|esp)=[a-z0-9_]+(-[a-z0-9_]+)+(,[a-z0-9_]+(-[a-z0-9_]+)+)*`, `    pfs=(yes|no)`,
			`    (ike|sa)lifetime=\d+s`, `    dpd(delay|timeout)=\d+`, `    auto=(add|start|ondemand)`,
			`@?` + id + ` @?` + id + ` : PSK "` + psk + `"`,
		},
	},
	"cisco-ios": {
		doc: "https://www.cisco.com/c/en/us/td/docs/ios-xml/ios/sec_conn_ike2vpn/configuration/xe-16/sec-flex-vpn-xe-16-book/sec-cfg-ikev2-flex.html (Configuring Basic IKEv2: proposal, policy, keyring, profile), " +
			"https://www.cisco.com/c/en/us/td/docs/ios-xml/ios/sec_conn_ikevpn/configuration/xe-16/sec-ike-for-ipsec-vpns-xe-16-book/sec-key-exch-ipsec.html (Creating IKE Policies: crypto isakmp policy) and " +
			"https://www.cisco.com/c/en/us/td/docs/ios-xml/ios/sec_conn_vpnips/configuration/xe-16/sec-sec-for-vpns-w-ipsec-xe-16-book/sec-cfg-vpn-ipsec.html (Defining Transform Sets, Creating Crypto Map Sets)",
		comment: "!",
		rules: []string{
			`crypto ikev2 (proposal|policy|keyring|profile) ` + name, ` encryption aes-(cbc|gcm)-(128|192|256)`, ` (integrity|prf) sha(1|256|384|512)`,
			` group (1|2|5|14|15|16|19|20|21|24)`, ` proposal ` + name, ` peer ` + name, `  address ` + addr, `  pre-shared-key ` + psk,
			` match identity remote (address ` + addr + ` 255\.255\.255\.255|fqdn ` + id + `)`, ` identity local (address|fqdn) ` + id,
			` authentication (remote|local) pre-share`, ` keyring local ` + name, ` lifetime ` + num, ` dpd \d+ \d+ (on-demand|periodic)`,
			`crypto isakmp policy ` + num, ` encryption aes (128|192|256)`, ` hash (sha|sha256|sha384|sha512)`, ` authentication pre-share`,
			`crypto isakmp key ` + psk + ` address ` + addr, `crypto isakmp keepalive \d+ \d+ (periodic|on-demand)`, `crypto isakmp identity (address|hostname)`,
			`crypto ipsec transform-set ` + name + ` (esp-gcm (128|192|256)|esp-aes (128|192|256) esp-(sha|sha256|sha384|sha512)-hmac)`, ` mode tunnel`,
			`ip access-list extended ` + name, ` permit ip ` + dmask + ` ` + dmask, `crypto map ` + name + ` \d+ ipsec-isakmp`,
			` set peer ` + addr, ` set transform-set( ` + name + `)+`, ` set pfs group(1|2|5|14|15|16|19|20|21|24)`,
			` set security-association lifetime seconds ` + num, ` set ikev2-profile ` + name, ` match address ` + name,
			`interface \S+`, ` crypto map ` + name,
		},
	},
	"cisco-asa": {
		doc: "https://www.cisco.com/c/en/us/td/docs/security/asa/asa917/configuration/vpn/asa-917-vpn-config/vpn-ike.html (Configure IKEv1 and IKEv2 Policies; Understanding IKEv1 Transform Sets and IKEv2 Proposals; Create a Basic IPsec Configuration) and " +
			"https://www.cisco.com/c/en/us/td/docs/security/asa/asa917/configuration/vpn/asa-917-vpn-config/vpn-site2site.html (Configure a Site-to-Site VPN: tunnel-group type ipsec-l2l, ipsec-attributes)",
		comment: "!",
		rules: []string{
			`crypto (ikev1|ikev2) policy ` + num, ` authentication pre-share`, ` encryption (aes|aes-192|aes-256|aes-gcm|aes-gcm-192|aes-gcm-256)`,
			` hash (sha|sha256|sha384|sha512)`, ` integrity (null|sha|sha256|sha384|sha512)`, ` prf (sha|sha256|sha384|sha512)`,
			` group (2|5|14|15|16|19|20|21|24|31)`, ` lifetime( seconds)? ` + num, `crypto (ikev1|ikev2) enable outside`,
			`crypto ipsec ikev1 transform-set ` + name + ` esp-aes(-192|-256)? esp-sha-hmac`,
			`crypto ipsec ikev2 ipsec-proposal ` + name, ` protocol esp encryption( (aes|aes-192|aes-256|aes-gcm|aes-gcm-192|aes-gcm-256))+`,
			` protocol esp integrity( (null|sha-1|sha-256|sha-384|sha-512))+`,
			`access-list ` + name + ` extended permit ip ` + dmask + ` ` + dmask,
			`crypto map outside_map \d+ match address ` + name, `crypto map outside_map \d+ set peer ` + addr,
			`crypto map outside_map \d+ set ikev1 transform-set( ` + name + `)+`, `crypto map outside_map \d+ set ikev2 ipsec-proposal ` + name,
			`crypto map outside_map \d+ set pfs group(1|2|5|14|15|16|19|20|21|24|31)`, `crypto map outside_map \d+ set security-association lifetime seconds ` + num,
			`crypto map outside_map interface outside`, `crypto isakmp identity (address|hostname|auto)`,
			`tunnel-group ` + addr + ` type ipsec-l2l`, `tunnel-group ` + addr + ` ipsec-attributes`, ` ikev1 pre-shared-key ` + psk,
			` ikev2 (remote|local)-authentication pre-shared-key ` + psk, ` isakmp keepalive threshold \d+ retry \d+`, ` peer-id-validate (req|cert|nocheck)`,
		},
	},
	"fortigate": {
		doc: "https://docs.fortinet.com/document/container-fortios/7.2.1/cli-reference/305883427 (config vpn ipsec phase1-interface: ike-version, peertype, proposal, dhgrp, keylife, dpd, dpd-retryinterval) and " +
			"https://docs.fortinet.com/document/fortiextender/7.4.4/cli-reference/898250 (config vpn ipsec phase2-interface: phase1name, proposal, pfs, dhgrp, keylifeseconds, src-subnet, dst-subnet)",
		comment: "#",
		rules: []string{
			`config (vpn ipsec phase1-interface|vpn ipsec phase2-interface|router static)`, `    edit ("` + name + `"|0)`, `    next`, `end`,
			`        set interface "` + name + `"`, `        set ike-version [12]`, `        set mode (main|aggressive)`, `        set peertype (any|one)`,
			`        set peerid "` + id + `"`, `        set net-device (enable|disable)`,
			`        set proposal (aes(128|192|256)gcm-prfsha(1|256|384|512)|aes(128|192|256)-sha(1|256|384|512)|aes(128|192|256)gcm)`,
			`        set dhgrp (1|2|5|14|15|16|17|18|19|20|21|27|28|29|30|31|32)`, `        set localid "` + id + `"`, `        set phase1name "` + name + `"`, `        set remote-gw ` + addr,
			`        set psksecret ` + psk, `        set (keylife|keylifeseconds|dpd-retryinterval) ` + num, `        set dpd (disable|on-idle|on-demand)`,
			`        set pfs (enable|disable)`, `        set (src-subnet|dst-subnet|dst) ` + dmask, `        set device "` + name + `"`,
		},
	},
	"paloalto": {
		doc: "https://docs.paloaltonetworks.com/network-security/ipsec-vpn/administration/set-up-site-to-site-vpn/define-cryptographic-profiles/define-ike-crypto-profiles (IKE Crypto: DH group, encryption, authentication, key lifetime), " +
			"https://docs.paloaltonetworks.com/content/techdocs/en_US/pan-os/9-1/pan-os-admin/vpns/set-up-site-to-site-vpn/define-cryptographic-profiles/define-ipsec-crypto-profiles.html (IPSec Crypto) and the PAN-OS CLI 'set network ike' / 'set network tunnel ipsec' hierarchy",
		comment: "#",
		rules: []string{
			`set network ike crypto-profiles ike-crypto-profiles ` + name + ` encryption aes-(128|192|256)-(cbc|gcm)`,
			`set network ike crypto-profiles ike-crypto-profiles ` + name + ` hash (sha1|sha256|sha384|sha512)`,
			`set network ike crypto-profiles (ike|ipsec)-crypto-profiles ` + name + ` dh-group (group(1|2|5|14|15|16|19|20|21)|no-pfs)`,
			`set network ike crypto-profiles (ike|ipsec)-crypto-profiles ` + name + ` lifetime seconds ` + num,
			`set network ike crypto-profiles ipsec-crypto-profiles ` + name + ` esp encryption aes-(128|192|256)-(cbc|gcm)`,
			`set network ike crypto-profiles ipsec-crypto-profiles ` + name + ` esp authentication (none|sha1|sha256|sha384|sha512)`,
			`set network ike gateway ` + name + ` protocol version (ikev1|ikev2|ikev2-preferred)`,
			`set network ike gateway ` + name + ` protocol ikev1 exchange-mode (main|aggressive|auto)`,
			`set network ike gateway ` + name + ` protocol (ikev1|ikev2) ike-crypto-profile ` + name,
			`set network ike gateway ` + name + ` protocol (ikev1|ikev2) dpd enable yes interval ` + num,
			`set network ike gateway ` + name + ` authentication pre-shared-key key ` + psk,
			`set network ike gateway ` + name + ` local-address interface ` + `\S+`,
			`set network ike gateway ` + name + ` (local|peer)-id type (ipaddr|fqdn) id ` + id, `set network ike gateway ` + name + ` peer-address ip ` + addr,
			`set network interface tunnel units tunnel\.\d+`, `set network tunnel ipsec ` + name + ` tunnel-interface tunnel\.\d+`,
			`set network tunnel ipsec ` + name + ` auto-key (ike-gateway|ipsec-crypto-profile) ` + name,
			`set network tunnel ipsec ` + name + ` auto-key proxy-id ` + name + ` local ` + cidr + ` remote ` + cidr + ` protocol any`,
			`set network virtual-router default routing-table ip static-route ` + name + ` destination ` + cidr + ` interface tunnel\.\d+`,
		},
	},
	"juniper-srx": {
		doc: "https://www.juniper.net/documentation/en_US/junos/topics/topic-map/security-route-based-ipsec-vpns.html (Example: Configuring a Route-Based VPN), " +
			"https://www.juniper.net/documentation/en_US/junos13.2/topics/reference/statement-hierarchy/security-ike.html ([edit security ike] hierarchy: proposal, policy, gateway, dead-peer-detection, local-identity) " +
			"and the [edit security ipsec] proposal/policy/vpn statements (perfect-forward-secrecy keys, bind-interface, traffic-selector, establish-tunnels)",
		comment: "#",
		rules: []string{
			`set security ike proposal ` + name + ` authentication-method pre-shared-keys`,
			`set security ike proposal ` + name + ` dh-group group(1|2|5|14|15|16|19|20|21|24)`,
			`set security ike proposal ` + name + ` authentication-algorithm (md5|sha1|sha-256|sha-384|sha-512)`,
			`set security (ike|ipsec) proposal ` + name + ` encryption-algorithm (3des-cbc|aes-(128|192|256)-(cbc|gcm))`,
			`set security (ike|ipsec) proposal ` + name + ` lifetime-seconds ` + num,
			`set security ike policy ` + name + ` mode (main|aggressive)`, `set security (ike|ipsec) policy ` + name + ` proposals \[( ` + name + `)+ \]`,
			`set security ike policy ` + name + ` pre-shared-key ascii-text "` + psk + `"`,
			`set security ike gateway ` + name + ` ike-policy ` + name, `set security ike gateway ` + name + ` address ` + addr,
			`set security ike gateway ` + name + ` dead-peer-detection (interval|threshold) ` + num,
			`set security ike gateway ` + name + ` (local|remote)-identity (inet|hostname) ` + id,
			`set security ike gateway ` + name + ` external-interface \S+`, `set security ike gateway ` + name + ` version (v1-only|v2-only)`,
			`set security ipsec proposal ` + name + ` protocol esp`,
			`set security ipsec proposal ` + name + ` authentication-algorithm (hmac-md5-96|hmac-sha1-96|hmac-sha-256-128|hmac-sha-256-96|hmac-sha-384|hmac-sha-512)`,
			`set security ipsec policy ` + name + ` perfect-forward-secrecy keys group(1|2|5|14|15|16|19|20|21|24)`,
			`set security ipsec vpn ` + name + ` bind-interface st0\.\d+`, `set security ipsec vpn ` + name + ` ike (gateway|ipsec-policy) ` + name,
			`set security ipsec vpn ` + name + ` traffic-selector ` + name + ` local-ip ` + cidr + ` remote-ip ` + cidr,
			`set security ipsec vpn ` + name + ` establish-tunnels (immediately|on-traffic)`,
			`set interfaces st0 unit \d+ family inet`, `set routing-options static route ` + cidr + ` next-hop st0\.\d+`,
		},
	},
	"mikrotik": {
		doc: "https://help.mikrotik.com/docs/display/ROS/IPsec (Profiles: hash-algorithm, enc-algorithm, dh-group, lifetime, dpd-interval, dpd-maximum-failures; Peers: address, exchange-mode, profile; " +
			"Proposals: auth-algorithms, enc-algorithms, lifetime, pfs-group; Identities: auth-method, secret, my-id, remote-id; Policies: peer, tunnel, src-address, dst-address, proposal, action, level)",
		comment: "#",
		rules: []string{
			`/ip ipsec (profile|peer|proposal|identity|policy)`,
			`add name=` + name + ` hash-algorithm=(md5|sha1|sha256|sha512) enc-algorithm=aes-(128|192|256) dh-group=(modp1024|modp1536|modp2048|modp3072|modp4096|modp6144|modp8192|ecp256|ecp384|ecp521) lifetime=\d+s dpd-interval=\d+s dpd-maximum-failures=\d+`,
			`add name=` + name + ` address=` + addr + `/32 exchange-mode=(main|ike2) profile=` + name,
			`add name=` + name + ` auth-algorithms=(md5|null|sha1|sha256|sha512) enc-algorithms=(aes-(128|192|256)-(cbc|gcm)) lifetime=\d+s pfs-group=(none|modp1024|modp1536|modp2048|modp3072|modp4096|modp6144|modp8192|ecp256|ecp384|ecp521)`,
			`add peer=` + name + ` auth-method=pre-shared-key secret="` + psk + `" my-id=(address|fqdn):` + id + ` remote-id=(address|fqdn):` + id,
			`add peer=` + name + ` tunnel=yes src-address=` + cidr + ` dst-address=` + cidr + ` proposal=` + name + ` action=encrypt level=(require|unique|use)`,
		},
	},
	"vyos": {
		doc: "https://docs.vyos.io/en/equuleus/configuration/vpn/site2site_ipsec.html (Examples: IKEv1, IKEv2; peer options authentication id/mode/pre-shared-secret/remote-id, connection-type, ike-group, local-address, tunnel local/remote prefix) and " +
			"https://docs.vyos.io/en/equuleus/configuration/vpn/ipsec.html (IKE and ESP groups: key-exchange, lifetime, dead-peer-detection, proposal dh-group/encryption/hash, pfs)",
		comment: "#",
		rules: []string{
			`set vpn ipsec ipsec-interfaces interface '\S+'`,
			`set vpn ipsec ike-group ` + name + ` key-exchange '(ikev1|ikev2)'`, `set vpn ipsec (ike|esp)-group ` + name + ` lifetime '\d+'`,
			`set vpn ipsec ike-group ` + name + ` dead-peer-detection action '(hold|clear|restart)'`,
			`set vpn ipsec ike-group ` + name + ` dead-peer-detection (interval|timeout) '\d+'`,
			`set vpn ipsec ike-group ` + name + ` proposal \d+ dh-group '(1|2|5|14|15|16|17|18|19|20|21|22|23|24|25|26|27|28|29|30|31|32)'`,
			`set vpn ipsec (ike|esp)-group ` + name + ` proposal \d+ encryption 'aes(128|192|256)(gcm128)?'`,
			`set vpn ipsec (ike|esp)-group ` + name + ` proposal \d+ hash '(sha1|sha256|sha384|sha512)'`,
			`set vpn ipsec esp-group ` + name + ` mode 'tunnel'`, `set vpn ipsec esp-group ` + name + ` pfs '(enable|disable|dh-group\d+)'`,
			`set vpn ipsec site-to-site peer ` + addr + ` authentication (id|remote-id) '` + id + `'`,
			`set vpn ipsec site-to-site peer ` + addr + ` authentication mode 'pre-shared-secret'`,
			`set vpn ipsec site-to-site peer ` + addr + ` authentication pre-shared-secret '` + psk + `'`,
			`set vpn ipsec site-to-site peer ` + addr + ` connection-type '(initiate|respond)'`,
			`set vpn ipsec site-to-site peer ` + addr + ` ike-group '` + name + `'`, `set vpn ipsec site-to-site peer ` + addr + ` local-address 'any'`,
			`set vpn ipsec site-to-site peer ` + addr + ` tunnel \d+ esp-group '` + name + `'`,
			`set vpn ipsec site-to-site peer ` + addr + ` tunnel \d+ (local|remote) prefix '` + cidr + `'`,
		},
	},
	"pfsense": {
		doc:     "https://docs.netgate.com/pfsense/en/latest/vpn/ipsec/configure-p1.html (Phase 1 Settings) and https://docs.netgate.com/pfsense/en/latest/vpn/ipsec/configure-p2.html (Phase 2 Settings): the field names an operator finds",
		comment: "Left out:",
		rules: []string{
			`pfSense / OPNsense: VPN > IPsec, for tunnel .*`, `Phase 1`, `Phase 2 #\d+\.\d+`, `  Key Exchange Version:   IKEv(1 \(Main mode\)|2)`,
			`  Remote Gateway:         ` + addr, `  Authentication Method:  Mutual PSK`,
			`  (My|Peer) identifier: +(IP address|Distinguished name \(FQDN\)) ` + id, `  Pre-Shared Key:         ` + psk,
			`  Encryption:             AES(-GCM \(128-bit ICV\))?, (128|192|256) bits, Hash SHA(1|256|384|512), DH group (1|2|5|14|15|16|17|18|19|20|21|22|23|24|28|29|30|31)`,
			`  Life Time: +\d+ s`, `  Dead Peer Detection:    on, delay \d+ s`, `  Mode:            Tunnel IPv4`,
			`  (Local|Remote) Network: +` + cidr, `  Protocol:        ESP`,
			`  Encryption:      AES(-GCM \(128-bit ICV\))?, (128|192|256) bits(, Hash SHA(1|256|384|512))?`, `  PFS key group:   (off|\d+)`,
			`\(the same in strongSwan notation: .*\)`,
		},
	},
}

// TestDocumentedSyntax holds every line of every export, for both test
// tunnels, to its vendor's documented statements.
func TestDocumentedSyntax(t *testing.T) {
	for _, v := range Vendors() {
		g, ok := grammars[v.ID]
		if !ok {
			t.Errorf("%s: no documented grammar to check its export against", v.ID)
			continue
		}
		var rules []*regexp.Regexp
		for _, r := range g.rules {
			rules = append(rules, regexp.MustCompile(`^(`+r+`)$`))
		}
		for name, tunnel := range testTunnels(t) {
			for i, line := range strings.Split(render(t, tunnel, v.ID), "\n") {
				if strings.TrimSpace(line) == "" || strings.HasPrefix(line, g.comment) {
					continue
				}
				if !matchesAny(rules, line) {
					t.Errorf("%s %s line %d is not in the documented syntax (%s):\n%s", v.ID, name, i+1, g.doc, line)
				}
			}
		}
	}
}

func matchesAny(rules []*regexp.Regexp, line string) bool {
	for _, r := range rules {
		if r.MatchString(line) {
			return true
		}
	}
	return false
}

// The grammars refuse what the documents do not list, so the test above
// can fail: a weak or unknown algorithm, a group the device lacks, a
// misspelled statement.
func TestGrammarsRefuse(t *testing.T) {
	for vendor, bad := range map[string][]string{
		"strongswan":  {"    start_action = always", "    version = 3"},
		"libreswan":   {"    auto=route", "    ikev2=permit"},
		"cisco-ios":   {" encryption 3des", " group 31", "crypto ipsec transform-set T esp-3des esp-md5-hmac"},
		"cisco-asa":   {" encryption 3des", "crypto ipsec ikev1 transform-set T esp-aes-256 esp-sha256-hmac", " group 1"},
		"fortigate":   {"        set proposal 3des-md5", "        set dhgrp 22"},
		"paloalto":    {"set network ike crypto-profiles ike-crypto-profiles p dh-group group31"},
		"juniper-srx": {"set security ike proposal p dh-group group31", "set security ike proposal p encryption-algorithm aes-256-ccm"},
		"mikrotik":    {"add name=p hash-algorithm=sha384 enc-algorithm=aes-256 dh-group=ecp256 lifetime=10800s dpd-interval=30s dpd-maximum-failures=5"},
		"vyos":        {"set vpn ipsec esp-group e pfs 'dh-group-19'", "set vpn ipsec ike-group i proposal 1 encryption '3des'"},
		"pfsense":     {"  Encryption:             3DES, 192 bits, Hash MD5, DH group 2"},
	} {
		var rules []*regexp.Regexp
		for _, r := range grammars[vendor].rules {
			rules = append(rules, regexp.MustCompile(`^(`+r+`)$`))
		}
		for _, line := range bad {
			if matchesAny(rules, line) {
				t.Errorf("%s grammar takes %q", vendor, line)
			}
		}
	}
}
