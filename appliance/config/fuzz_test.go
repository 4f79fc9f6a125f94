package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must never panic, and
// whatever it accepts must survive Validate, WithDefaults, String and a
// second decode of its own encoding (the store writes that encoding).
func FuzzDecode(f *testing.F) {
	good, _ := json.Marshal(validConfig())
	f.Add(good)
	f.Add([]byte(`{"version": 1, "tunnel": {"remote_ip": "203.0.113.5", "remote_subnet": "10.1.0.0/16,x"}, "psk": "k", "wan": {"dhcp": false, "address": "1.2.3.4/40"}}`))
	f.Add([]byte(`{"version": 2, "tunnels": [{"name": "a", "if_id": 4294967296, "mobike": null, "psk": "(hidden)"}]}`))
	f.Add([]byte(`{"version": 2, "system": {"hostname": "a", "hostname": "b"}}`))
	f.Add([]byte(`{"version": 2, "tunnels": [{"ike_proposals": ["aes256gcm16-prfsha384-ecp384", "-", ""]}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %T is not a *DecodeError: %v", err, err)
			}
			return
		}
		_ = c.Validate()
		_ = c.WithDefaults().Validate()
		_ = c.String()
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal of a decoded config: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("Decode of its own encoding %s: %v", again, err)
		}
	})
}

// FuzzEnvFile feeds arbitrary text to ImportEnv: it must never panic, and
// a problem must never quote the PSK it was given.
func FuzzEnvFile(f *testing.F) {
	f.Add("IPSEC_REMOTEIP=203.0.113.5\nIPSEC_REMOTENET=10.1.0.0/16\nIPSEC_PSK=" + strongPSK1 + "\n")
	f.Add("export IPSEC_PSK=\"a \\\"b\\\" c\" # x\nIPSEC_VTI_KEY=0x10\nIPSEC_VTI_STATICROUTES=1.2.3.4,::1\n")
	f.Add("IPSEC_LIFETIME=99999999999d\nIPSEC_LOCALNET=10.0.0.0/31\nIPSEC_KEYEXCHANGE=ike\nIPSEC_IKEREAUTH=no\n")
	f.Add("A='\n=\n\x00=1\nIPSEC_LOCALIP=%any\n")
	f.Fuzz(func(t *testing.T, file string) {
		c, probs := ImportEnv(strings.NewReader(file))
		_ = probs.Error()
		_ = probs.Err()
		_ = c.String()
		// A distinctive key that appears once in the file (so no other
		// variable carries it) must not come back in any message.
		psk := c.Tunnels[0].PSK.Reveal()
		if distinctive(psk) && strings.Count(file, psk) == 1 && strings.Contains(probs.Error(), psk) {
			t.Fatalf("a problem quotes the PSK %q: %v", psk, probs)
		}
	})
}

func distinctive(s string) bool {
	if len(s) < 16 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return false
	}
	return strings.ContainsAny(s, "0123456789") && strings.Trim(s, "0123456789") != ""
}

// FuzzDiff compares two arbitrary documents: Diff must never panic, find
// nothing between a config and itself, find something between configs that
// differ, and never show a secret's value.
func FuzzDiff(f *testing.F) {
	good, _ := json.Marshal(validConfig())
	other := validConfig()
	other.Tunnels = other.Tunnels[1:]
	other.Interfaces[0].Role = RoleLAN
	changed, _ := json.Marshal(other)
	f.Add(good, changed)
	f.Add([]byte(`{"version": 3, "tunnels": [{"name": "a", "psk": "`+strongPSK1+`"}, {"name": "a"}]}`),
		[]byte(`{"version": 3, "tunnels": [{"name": "a", "psk": "`+strongPSK2+`", "mobike": false}]}`))
	f.Add([]byte(`{"version": 3, "sites": [{"name": "x[1]", "remotes": [{}, {"peer_address": "p"}]}]}`),
		[]byte(`{"version": 3, "profiles": [{"name": "", "psk": "(hidden)"}], "admin": {"password_hash": "h"}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ca, err := Decode(a)
		if err != nil {
			return
		}
		cb, err := Decode(b)
		if err != nil {
			return
		}
		if d := Diff(ca, ca); len(d) != 0 {
			t.Fatalf("Diff of a config with itself: %v", d)
		}
		d := Diff(ca, cb)
		if len(d) == 0 && !equalDocuments(ca, cb) {
			t.Fatalf("Diff found nothing between\n%s\nand\n%s", a, b)
		}
		secrets := map[string]bool{}
		for _, c := range []Config{ca, cb} {
			_, s := splitSecrets(c)
			for _, v := range append(mapValues(s.TunnelPSKs), append(mapValues(s.ProfilePSKs), s.AdminPasswordHash)...) {
				if distinctive(v) {
					secrets[v] = true
				}
			}
		}
		for _, c := range d {
			for v := range secrets {
				// A secret may equal a name or an address by chance; only
				// a value that appears nowhere else in the input counts.
				if strings.Count(string(a)+string(b), v) == 1 && strings.Contains(c.String(), v) {
					t.Fatalf("change %q shows the secret %q", c, v)
				}
			}
		}
	})
}

// equalDocuments reports whether two configs would be saved alike, which
// is what Diff compares (an empty list and a missing one are the same).
func equalDocuments(a, b Config) bool {
	da, sa := splitSecrets(a)
	db, sb := splitSecrets(b)
	ja, _ := json.Marshal(da)
	jb, _ := json.Marshal(db)
	ka, _ := json.Marshal(sa)
	kb, _ := json.Marshal(sb)
	return string(ja) == string(jb) && string(ka) == string(kb)
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
