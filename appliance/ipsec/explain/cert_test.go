package explain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The cert-*.log files are charon 5.9.8's own lines (testdata/certscen.sh):
// the box (192.0.2.1) with auth = pubkey, trusting "Test CA", against a
// stock strongSwan peer; "-resp" means the device initiated.
func TestExplainCertificateLogs(t *testing.T) {
	want := Expect{RemoteID: "%any", Cert: true}
	nat := []string{"remote host is behind NAT"}
	expired := Explanation{Kind: CertInvalid, Side: Ours, SentID: "CN=old-peer, O=Tunneler tests",
		Validity: "valid from Jan 01 00:00:00 2024 to Jan 01 00:00:00 2025", Expired: true, NAT: nat}
	stranger := Explanation{Kind: CertUntrusted, Side: Ours, SentID: "CN=stranger, O=Tunneler tests",
		Issuer: "O=Tunneler tests, CN=Other CA", ExpectedID: "%any", NAT: nat}
	for _, tc := range []struct {
		log     string
		want    Explanation
		summary string
	}{
		{"cert-expired-resp.log", expired, `the remote device's certificate "CN=old-peer, O=Tunneler tests" has expired (valid from Jan 01 00:00:00 2024 to Jan 01 00:00:00 2025); renew it on the device`},
		{"cert-expired-init.log", expired, `has expired`},
		{"cert-unknownca-resp.log", stranger, `the remote device's certificate "CN=stranger, O=Tunneler tests" was issued by "O=Tunneler tests, CN=Other CA", a CA this tunnel does not trust; import that CA`},
		{"cert-unknownca-init.log", stranger, `a CA this tunnel does not trust`},
		{"cert-rejected-init.log", Explanation{Kind: Auth, Side: Theirs, ExpectedID: "%any", NAT: nat},
			"the remote device rejected this box's certificate or IDs; check that it trusts the CA that issued this box's certificate"},
	} {
		t.Run(tc.log, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.log))
			if err != nil {
				t.Fatal(err)
			}
			got := Explain(strings.Split(string(b), "\n"), want)
			if d := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Explanation{}, "Summary")); d != "" {
				t.Errorf("Explain (-want +got)\n%s", d)
			}
			if !strings.Contains(got.Summary, tc.summary) {
				t.Errorf("summary %q\nlacks %q", got.Summary, tc.summary)
			}
		})
	}
}

// Lines seen from the same charon in the same lab, each on its own: a CA
// outside its validity, a certificate not yet valid, the box's own key
// missing, and a certificate that fails without a detail line.
func TestExplainCertificateLines(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lines   []string
		kind    string
		summary string
	}{
		{"not yet valid", []string{
			`14[CFG] <site-a|1>   using certificate "CN=peer, O=Tunneler tests"`,
			`14[CFG] <site-a|1> subject certificate invalid (valid from Jan 01 00:00:00 2099 to Jan 01 00:00:00 2100)`,
			`14[IKE] <site-a|1> no trusted ECDSA public key found for 'CN=peer, O=Tunneler tests'`,
		}, CertInvalid, `"CN=peer, O=Tunneler tests" is not valid yet (valid from Jan 01 00:00:00 2099 to Jan 01 00:00:00 2100); check this box's clock`},
		{"CA expired", []string{
			`14[CFG] <site-a|1>   using certificate "CN=peer, O=Tunneler tests"`,
			`14[CFG] <site-a|1>   using trusted ca certificate "O=Tunneler tests, CN=Test CA"`,
			`14[CFG] <site-a|1> issuer certificate invalid (valid from Jan 01 00:00:00 2020 to Jan 01 00:00:00 2021)`,
			`14[IKE] <site-a|1> no trusted ECDSA public key found for 'CN=peer, O=Tunneler tests'`,
		}, CertInvalid, "the CA that issued the remote device's certificate"},
		{"no own key", []string{
			`07[IKE] <site-a|1> no private key found for 'CN=box, O=Tunneler tests'`,
		}, CertNoKey, `this box has no private key for its certificate "CN=box, O=Tunneler tests"`},
		{"wrong identity", []string{
			`14[IKE] <site-a|1> no trusted ECDSA public key found for 'CN=peer, O=Tunneler tests'`,
		}, CertUntrusted, `is not trusted by this tunnel: it is not from the tunnel's CA, or not the pinned certificate, or does not match the expected identity "%any"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Explain(tc.lines, Expect{RemoteID: "%any", Cert: true})
			if got.Kind != tc.kind || !strings.Contains(got.Summary, tc.summary) {
				t.Errorf("got %s: %q\nwant %s: %q", got.Kind, got.Summary, tc.kind, tc.summary)
			}
		})
	}
}
