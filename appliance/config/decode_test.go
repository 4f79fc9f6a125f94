package config

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeRoundTrip(t *testing.T) {
	want := validConfig()
	// JSON of a Config hides secrets; round-trip the rest.
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(%s): %v", b, err)
	}
	got = got.KeepSecrets(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      string
	}{
		{"empty", ``, `line 1, column 1: not valid JSON: the document ends early (a missing } or ], or an unfinished value)`},
		{"not an object", `[1,2]`, `line 1, column 1: the document must be a JSON object ({ ... })`},
		{"syntax error", "{\n  \"version\": 2,\n  \"system\": {\"hostname\": \"a\",}\n}", `line 3, column 30: not valid JSON: invalid character '}' looking for beginning of object key string`},
		{"ends early", "{\"version\": 2,\n \"tunnels\": [", `line 2, column 13: not valid JSON: the document ends early (a missing } or ], or an unfinished value)`},
		{"trailing data", `{"version": 2} {"version": 2}`, `line 1, column 16: not valid JSON: invalid character '{' after top-level value`},
		{"version missing", `{"system": {}}`, `version: is missing; add "version": 3 for this firmware's format`},
		{"version not a number", `{"version": "2"}`, `line 1, column 13: version: is "2"; it must be a whole number like 3`},
		{"version from the future", `{"version": 9}`, `version: is 9, written by newer firmware; this firmware reads versions 1 to 3`},
		{"version zero", `{"version": 0}`, `version: is 0; this firmware reads versions 1 to 3`},
		{"unknown top-level field", "{\n  \"version\": 2,\n  \"tunnel\": {}\n}", `line 3, column 3: tunnel: is not a known field`},
		{"unknown nested field", "{\"version\": 2,\n\"tunnels\": [{\"name\": \"a\"},\n {\"name\": \"b\", \"pks\": \"x\"}]}", `line 3, column 16: tunnels[1].pks: is not a known field`},
		{"field in wrong case", `{"version": 2, "tunnels": [{"PSK": "x"}]}`, `line 1, column 29: tunnels[0].PSK: is not a known field; did you mean "psk"?`},
		{"field in camel case", `{"version": 2, "tunnels": [{"ikeVersion": "ikev2"}]}`, `line 1, column 29: tunnels[0].ikeVersion: is not a known field; did you mean "ike_version"?`},
		{"field twice", `{"version": 2, "system": {"hostname": "a", "hostname": "b"}}`, `line 1, column 44: system.hostname: is written twice; remove one`},
		{"string for list", `{"version": 2, "tunnels": [{"remote_networks": "10.0.0.0/8"}]}`, `line 1, column 48: tunnels[0].remote_networks: is the string "10.0.0.0/8", but must be a list [ ... ]`},
		{"number for string", `{"version": 2, "system": {"hostname": 7}}`, `line 1, column 39: system.hostname: is the number 7, but must be a string`},
		{"string for bool", `{"version": 2, "router": {"enrolled": "yes"}}`, `line 1, column 39: router.enrolled: is the string "yes", but must be true or false`},
		{"negative if_id", `{"version": 2, "tunnels": [{"if_id": -1}]}`, `line 1, column 38: tunnels[0].if_id: -1 is not a whole number that fits (0 to 4294967295)`},
		{"object for section", `{"version": 2, "admin": []}`, `line 1, column 25: admin: is a list, but must be an object { ... }`},
		{"psk value never echoed", `{"version": 2, "tunnels": [{"psk": 12345678901234567890}]}`, `line 1, column 36: tunnels[0].psk: is a number, but must be a string`},
		{"v1 unknown field", `{"version": 1, "tunnels": []}`, `line 1, column 16: tunnels: is not a known field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Decode(%s) succeeded, want %q", tc.doc, tc.want)
			}
			if _, ok := err.(*DecodeError); !ok {
				t.Errorf("error is %T, want *DecodeError", err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Decode(%s) error\n got: %s\nwant: %s", tc.doc, got, tc.want)
			}
		})
	}
}

// TestDecodeKeepsBadValues: a bad value is not a decode error; Validate
// names it with the others.
func TestDecodeKeepsBadValues(t *testing.T) {
	c, err := Decode([]byte(`{"version": 2, "tunnels": [{"name": "a", "remote_networks": ["10.0.0.0/8", "ten"], "ike_lifetime": "forever"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, e := range c.Validate() {
		fields = append(fields, e.Field)
	}
	for _, want := range []string{"tunnels[0].remote_networks[1]", "tunnels[0].ike_lifetime"} {
		if !strings.Contains(strings.Join(fields, " "), want) {
			t.Errorf("Validate did not report %s; got %v", want, fields)
		}
	}
}

func TestImportJSON(t *testing.T) {
	doc := `{"version": 2, "tunnels": [{"name": "hq", "peer_address": "203.0.113.7", "psk": "` + strongPSK1 + `", "remote_networks": ["10.8.0.0/16"]}]}`
	c, err := ImportJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tunnels[0].PSK.Reveal() != strongPSK1 {
		t.Error("imported PSK lost")
	}
	_, err = ImportJSON(strings.NewReader(`{"version": 2, "tunnels": [{"name": "hq", "peer_address": "203.0.113.7", "psk": "(hidden)", "remote_networks": ["10.8.0.0/16"]}]}`))
	var fe FieldErrors
	if !asFieldErrors(err, &fe) || fe[0].Field != "tunnels[0].psk" || !strings.HasPrefix(fe[0].Message, "is missing") {
		t.Errorf("ImportJSON with a placeholder PSK: %v", err)
	}
	_, err = ImportJSON(strings.NewReader(`{"version": 2, "bogus": 1}`))
	if err == nil || err.Error() != `import tunneler.json: line 1, column 16: bogus: is not a known field` {
		t.Errorf("ImportJSON unknown field: %v", err)
	}
}
