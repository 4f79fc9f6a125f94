package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncodeDecodeWithSecrets(t *testing.T) {
	want := validConfig()
	want.Profiles = []Profile{{Name: "p", IKESettings: IKESettings{PSK: NewSecret(strongPSK3)}}}
	doc, sec, err := EncodeWithSecrets(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{strongPSK1, strongPSK2, strongPSK3, argonHash} {
		if bytes.Contains(doc, []byte(s)) {
			t.Errorf("document holds secret %q", s)
		}
		if !bytes.Contains(sec, []byte(s)) {
			t.Errorf("secrets lack %q", s)
		}
	}
	got, err := DecodeWithSecrets(doc, sec)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	other, _, _ := EncodeWithSecrets(withHostname("other"))
	for _, tc := range []struct {
		name     string
		doc, sec []byte
		want     string
	}{
		{"secrets of another document", other, sec, "secrets belongs to another save of config"},
		{"secrets not JSON", doc, sec[:20], "secrets is not valid JSON"},
		{"document not JSON", doc[:10], sec, "config: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeWithSecrets(tc.doc, tc.sec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeWithSecrets = %v, want an error saying %q", err, tc.want)
			}
			for _, s := range []string{strongPSK1, strongPSK2, strongPSK3, argonHash} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}
