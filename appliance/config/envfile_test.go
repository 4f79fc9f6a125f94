package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestImportEnv(t *testing.T) {
	file := `# vnf-ipsec settings for the branch office
export IPSEC_LOCALIP=%any
IPSEC_LOCALID=tunneler.example.com
IPSEC_LOCALNET=100.64.0.0/10

IPSEC_REMOTEIP="203.0.113.5"
IPSEC_REMOTENET=10.1.0.0/16, 10.2.0.0/16
IPSEC_REMOTEID='fw.example.com'
IPSEC_PSK='` + strongPSK1 + `'
IPSEC_KEYEXCHANGE=ikev2
IPSEC_IKECIPHER=aes256gcm16-prfsha384-ecp384!,aes256-sha256-modp2048!
IPSEC_ESPCIPHER=aes256gcm16-ecp384
IPSEC_LIFETIME=45m
IPSEC_IKELIFETIME=3h  # shorter than the FortiGate's
IPSEC_FORCEUDP=yes
IPSEC_IKEREAUTH=no
`
	c, probs := ImportEnv(strings.NewReader(file))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	want := Config{Version: CurrentVersion, Tunnels: []Tunnel{{
		Name: EnvTunnelName, PeerAddress: "203.0.113.5",
		LocalNetworks:  []Prefix{MustPrefix("100.64.0.0/10")},
		RemoteNetworks: []Prefix{MustPrefix("10.1.0.0/16"), MustPrefix("10.2.0.0/16")},
		IKESettings: IKESettings{
			IKEVersion: IKEv2,
			LocalID:    "tunneler.example.com", RemoteID: "fw.example.com", PSK: NewSecret(strongPSK1),
			IKEProposals:  []string{"aes256gcm16-prfsha384-ecp384", "aes256-sha256-modp2048"},
			ESPProposals:  []string{"aes256gcm16-ecp384"},
			ChildLifetime: Dur(45 * time.Minute), IKELifetime: Dur(3 * time.Hour),
			ForceUDPEncap: true,
		},
	}}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ImportEnv (-want +got):\n%s", diff)
	}
}

func TestImportEnvRouteMode(t *testing.T) {
	c, probs := ImportEnv(strings.NewReader(`IPSEC_LOCALIP=198.51.100.10
IPSEC_LOCALNET=10.99.0.0/24
IPSEC_REMOTEIP=vpn.example.net
IPSEC_REMOTENET=0.0.0.0/0
IPSEC_PSK="` + strongPSK1 + `"
IPSEC_VTI_KEY=0x2a
IPSEC_VTI_STATICROUTES=10.20.0.0/16,10.30.0.5
`))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	tun := c.Tunnels[0]
	if tun.Mode != ModeRoute || tun.IfID != 42 || tun.LocalAddress != MustAddr("198.51.100.10") {
		t.Errorf("route mode not imported: %+v", tun)
	}
	if diff := cmp.Diff([]Prefix{MustPrefix("10.20.0.0/16"), MustPrefix("10.30.0.5/32")}, tun.Routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	// The router's addresses follow IPSEC_LOCALNET so its traffic matches.
	if c.Router.InterceptRange != MustPrefix("10.99.0.0/24") || c.Router.InsideAddress != MustAddr("10.99.0.1") {
		t.Errorf("router = %+v, want it inside IPSEC_LOCALNET", c.Router)
	}
}

func TestImportEnvProblems(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       EnvProblems
	}{
		{
			name: "missing essentials",
			file: "# nothing but a comment\n",
			want: EnvProblems{
				{Name: "IPSEC_REMOTEIP", Message: "is not set; give the remote VPN device's public IP address or DNS name"},
				{Name: "IPSEC_REMOTENET", Message: "is empty; list at least one network behind the remote device, like 10.1.0.0/16"},
				{Name: "IPSEC_PSK", Message: "is not set; every tunnel needs a pre-shared key, and the box can generate a strong one"},
			},
		},
		{
			name: "syntax",
			file: "IPSEC_REMOTEIP=203.0.113.5\nthis is not a variable\nIPSEC_PSK='unterminated\nIPSEC_REMOTENET=10.1.0.0/16\nIPSEC_REMOTENET=10.2.0.0/16\nIPSEC_REMOTEID=\"$HOST\"\nIPSEC_LOCALID=a\\b\n",
			want: EnvProblems{
				{Line: 2, Name: "line", Message: "is not NAME=value (a name of letters, digits and _, then =, then the value)"},
				{Line: 3, Name: "IPSEC_PSK", Message: "has a ' with no closing '"},
				{Line: 5, Name: "IPSEC_REMOTENET", Message: "is set again (first on line 4); set it once so it is clear which value counts"},
				{Line: 6, Name: "IPSEC_REMOTEID", Message: "uses $ or ` inside double quotes; the box does not expand variables or commands (use single quotes for a literal value)"},
				{Line: 7, Name: "IPSEC_LOCALID", Message: "uses a shell special character ($ ` \" ' \\) in an unquoted value; put the value in single quotes"},
				{Name: "IPSEC_PSK", Message: "is not set; every tunnel needs a pre-shared key, and the box can generate a strong one"},
			},
		},
		{
			name: "values and unsupported settings",
			file: strings.Join([]string{
				"IPSEC_REMOTEIP=255.255.255.255",
				"IPSEC_REMOTENET=10.1.0.0/16,100.64.5.0/24",
				"IPSEC_PSK=secretsecret",
				"IPSEC_KEYEXCHANGE=ike",
				"IPSEC_IKECIPHER=3des-sha1-modp1024",
				"IPSEC_LIFETIME=1 hour",
				"IPSEC_FORCEUDP=maybe",
				"IPSEC_VTI_STATICROUTES=10.9.0.0/16",
				"IPSEC_VTI_IPADDR_LOCAL=192.168.100.1/30",
				"IPSEC_INTERFACES=eth0",
				"IPSEC_DPDACTION=restart",
				"PATH=/bin",
			}, "\n"),
			want: EnvProblems{
				{Line: 4, Name: "IPSEC_KEYEXCHANGE", Message: "ike (either version) is not supported; the box uses ikev2, so a remote device that speaks only IKEv1 needs ikev1 here", Warning: true},
				{Line: 6, Name: "IPSEC_LIFETIME", Message: "\"1 hour\" is not a time like 3600, 60m, 1h or 1d"},
				{Line: 7, Name: "IPSEC_FORCEUDP", Message: "must be yes or no"},
				{Line: 9, Name: "IPSEC_VTI_IPADDR_LOCAL", Message: "addresses on the tunnel interface are not supported; the box routes IPSEC_VTI_STATICROUTES into the tunnel without them (remove this line)"},
				{Line: 10, Name: "IPSEC_INTERFACES", Message: "IKE always runs on the WAN interface; this setting is ignored", Warning: true},
				{Line: 11, Name: "IPSEC_DPDACTION", Message: "is not a vnf-ipsec variable this box knows; remove it or check its spelling"},
				{Line: 12, Name: "PATH", Message: "is not a vnf-ipsec variable; the file may set only the IPSEC_ variables and WAN_IPV6, WAN_IPV6_ADDRESS, WAN_IPV6_GATEWAY"},
				{Line: 8, Name: "IPSEC_VTI_STATICROUTES", Message: "needs IPSEC_VTI_KEY: static routes go to the tunnel interface of route-based mode"},
				{Line: 1, Name: "IPSEC_REMOTEIP", Message: "255.255.255.255 is the broadcast address, not a single host"},
				{Line: 2, Name: "IPSEC_REMOTENET", Message: "100.64.5.0/24 overlaps the local network 100.64.0.0/10 (tunnels[0].local_networks[0]); the two sides of a tunnel must not overlap"},
				{Line: 8, Name: "IPSEC_VTI_STATICROUTES", Message: "are only used with mode route; in policy mode the remote networks decide what enters the tunnel"},
				{Line: 3, Name: "IPSEC_PSK", Message: "is 12 characters long, which is too short to resist guessing; use at least 20 random characters, or let the box generate a strong one"},
				{Line: 5, Name: "IPSEC_IKECIPHER", Message: "\"3des-sha1-modp1024\" uses 3des: 3DES has a 64-bit block (Sweet32)"},
			},
		},
		{
			name: "ikev1 cannot skip reauthentication",
			file: "IPSEC_REMOTEIP=203.0.113.5\nIPSEC_REMOTENET=10.1.0.0/16\nIPSEC_PSK=" + strongPSK1 + "\nIPSEC_KEYEXCHANGE=ikev1\nIPSEC_IKEREAUTH=no\n",
			want: EnvProblems{
				{Line: 5, Name: "IPSEC_IKEREAUTH", Message: "IKEv1 cannot rekey without re-authenticating, so the box re-authenticates anyway", Warning: true},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := ImportEnv(strings.NewReader(tc.file))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, p := range got {
				if strings.Contains(p.Error(), strongPSK1) || strings.Contains(p.Error(), "secretsecret") || strings.Contains(p.Error(), "unterminated") {
					t.Errorf("problem leaks a key: %s", p.Error())
				}
			}
		})
	}
}

func TestEnvProblemsErr(t *testing.T) {
	warnOnly := EnvProblems{{Line: 1, Name: "DEBUG", Message: "ignored", Warning: true}}
	if warnOnly.Err() != nil {
		t.Error("warnings alone must not stop an import")
	}
	mixed := append(warnOnly, EnvProblem{Line: 2, Name: "IPSEC_PSK", Message: "is too short"})
	if err := mixed.Err(); err == nil || err.Error() != "line 1: warning: DEBUG: ignored\nline 2: IPSEC_PSK: is too short" {
		t.Errorf("Err() = %v", err)
	}
}

func TestParseEnvQuoting(t *testing.T) {
	vars, probs := parseEnv(strings.NewReader("\xef\xbb\xbfA=plain # comment\r\nexport B=\"a \\\"quoted\\\" #value\"\n  C='lit $x'  \nD=\nexport\tE=x#y\n"))
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	got := map[string]string{}
	for _, v := range vars {
		got[v.name] = v.value
	}
	want := map[string]string{"A": "plain", "B": `a "quoted" #value`, "C": "lit $x", "D": "", "E": "x#y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestImportEnvLegacy(t *testing.T) {
	base := `IPSEC_REMOTEIP=203.0.113.9
IPSEC_REMOTENET=10.9.0.0/16
IPSEC_PSK='` + strongPSK1 + `'
IPSEC_KEYEXCHANGE=ikev1
IPSEC_IKECIPHER=aes128-sha1-modp1024!
IPSEC_ESPCIPHER=aes128-sha1-modp1024!
`
	for _, tc := range []struct {
		name, extra string
		want        string // a problem, "" for none
	}{
		{"with IPSEC_LEGACY=yes", "IPSEC_LEGACY=yes\n", ""},
		{"without it the refusal names the way through", "", `line 5: IPSEC_IKECIPHER: "aes128-sha1-modp1024" uses sha1: SHA-1 is no longer safe for integrity or key derivation; an old device that needs it is accepted only with the "legacy" preset and the weak-crypto acknowledgment (accept_weak_crypto; IPSEC_LEGACY=yes in an env file)`},
		{"IPSEC_LEGACY=no is the same as none", "IPSEC_LEGACY=no\n", "IPSEC_LEGACY=yes"},
		{"a bad value", "IPSEC_LEGACY=maybe\n", "line 7: IPSEC_LEGACY: must be yes or no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, probs := ImportEnv(strings.NewReader(base + tc.extra))
			if tc.want == "" {
				if len(probs) != 0 {
					t.Fatalf("problems: %v", probs)
				}
				if tun := c.Tunnels[0]; tun.Preset != LegacyPreset || !tun.AcceptWeakCrypto || !tun.WeakCrypto() {
					t.Errorf("tunnel = preset %q, ack %v, weak %v; want the legacy preset, acknowledged, marked weak", tun.Preset, tun.AcceptWeakCrypto, tun.WeakCrypto())
				}
				return
			}
			if probs.Err() == nil || !strings.Contains(probs.Error(), tc.want) {
				t.Errorf("problems = %v, want one saying %q", probs, tc.want)
			}
		})
	}
}
