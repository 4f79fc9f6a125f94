package systest

import (
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/certs/certstest"
	"github.com/tunneler/tunneler/scripts/vmtest"
	"github.com/tunneler/tunneler/webui"
)

// TestCertAuthTunnel (issue 15 item 4): on one booted box, through the
// JSON API as an operator's script would, the box makes its key and a
// signing request, a CA made in the test signs it, the CA goes in, and
// the tunnel to a stock strongSwan site switches to certificates and
// carries pings. Then the site shows an expired certificate, and one from
// a CA the box does not know: each gets a plain reason on the box.
func TestCertAuthTunnel(t *testing.T) {
	requireTools(t)
	w := newWebLab(t)
	w.waitWebUI(t)
	csrf := w.apiSetup(t)
	w.post(t, csrf, "/api/setup/review", nil)
	w.waitApplied(t)
	csrf = w.login(t)

	// The box's key and request, made on the box; the key stays there.
	w.change(t, csrf, "/api/certificates/make", url.Values{"common_name": {"tunneler-box"}, "organization": {"Tunneler tests"}})
	var cs struct {
		HasKey  bool   `json:"has_key"`
		Request string `json:"request"`
	}
	w.getJSON(t, "/api/certificates", &cs)
	if !cs.HasKey || !strings.HasPrefix(cs.Request, "-----BEGIN CERTIFICATE REQUEST-----") {
		t.Fatalf("after making a key: has_key %v, request %.40q", cs.HasKey, cs.Request)
	}
	now := time.Now()
	valid := certstest.Around(now, time.Hour, 90*24*time.Hour)
	ca, err := certstest.NewCA("Site CA", valid)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := certstest.NewCA("Stranger CA", valid)
	if err != nil {
		t.Fatal(err)
	}
	boxCert, err := ca.SignCSR([]byte(cs.Request), valid)
	if err != nil {
		t.Fatal(err)
	}
	site, err := ca.Issue("site1-gw", valid)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca.Issue("site1-old", certstest.Validity{From: now.Add(-30 * 24 * time.Hour), To: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := stranger.Issue("site1-foreign", valid)
	if err != nil {
		t.Fatal(err)
	}
	w.change(t, csrf, "/api/certificates/import", url.Values{"kind": {"box"}, "pem": {string(boxCert)}})
	w.change(t, csrf, "/api/certificates/import", url.Values{"kind": {"ca"}, "name": {"site-ca"}, "pem": {string(ca.PEM)}})

	// The site's administrator switches the device to certificates; the
	// operator switches the tunnel.
	w.site.UseCerts(t, vmtest.SiteCerts{Cert: site.PEM, Key: site.KeyPEM, CA: ca.PEM})
	w.change(t, csrf, "/api/tunnels/site1/edit", url.Values{"name": {"site1"}, "peer_address": {"192.0.2.2"},
		"remote_networks": {"10.9.0.0/24"}, "auth": {"cert"}, "ca": {"site-ca"}, "confirm": {"yes"}})
	// The PSK SA goes when the change applies; wait for the new one,
	// which the site lists under the box's certificate identity.
	var sas string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if sas = w.site.Swanctl(t, "--list-sas"); strings.Contains(sas, "CN=tunneler-box") && strings.Contains(sas, "INSTALLED") {
			break
		}
	}
	if !strings.Contains(sas, "CN=tunneler-box") || !strings.Contains(sas, "INSTALLED") {
		t.Fatalf("no SA with the box's certificate identity at the site:\n%s\n%s", sas, w.vm.Console.Tail(30))
	}
	w.waitGreen(t, "site1")
	if out, err := w.site.Inside.Command("ping", "-n", "-c", "3", "-W", "2", "100.64.0.1").CombinedOutput(); err != nil {
		t.Errorf("no ping through the certificate tunnel: %v\n%s", err, out)
	}
	var ipsec struct {
		webui.Status
	}
	w.getJSON(t, "/api/ipsec", &ipsec)
	if c := ipsec.Certificates.Certs; len(c) != 2 || c[0].Kind != "box" || c[0].State != "valid" || c[0].DaysLeft < 88 ||
		strings.Join(c[0].Tunnels, ",") != "site1" {
		t.Errorf("the IPsec page's certificates: %+v", c)
	}

	// Each bad certificate on the device: the box says why, plainly.
	for _, tc := range []struct {
		leaf   *certstest.Leaf
		reason string
	}{
		{expired, `the remote device's certificate "O=Tunneler tests, CN=site1-old" has expired`},
		{foreign, `was issued by "O=Tunneler tests, CN=Stranger CA", a CA this tunnel does not trust`},
	} {
		w.site.UseCerts(t, vmtest.SiteCerts{Cert: tc.leaf.PEM, Key: tc.leaf.KeyPEM, CA: ca.PEM})
		w.post(t, csrf, "/api/tunnels/site1/reconnect", url.Values{"confirm": {"yes"}})
		var got webui.TunnelStatus
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			if _, got = w.apiTunnel(t, "site1"); strings.Contains(got.Reason, tc.reason) {
				break
			}
		}
		if !strings.Contains(got.Reason, tc.reason) {
			t.Errorf("%s: the box's reason is %q (%s), want it to say %q\n%s", tc.leaf.Cert.Subject.CommonName, got.Reason, got.Colour, tc.reason, w.vm.Console.Tail(20))
			continue
		}
		t.Logf("%s: %s: %s", tc.leaf.Cert.Subject.CommonName, got.Colour, got.Reason)
	}

	// The key is in no answer: pages, API, the CSR download, the logs.
	for _, p := range []string{"/api/certificates", "/certificates", "/certificates/request.csr", "/api/logs?window=all", "/api/settings", "/export"} {
		resp, err := w.client.Get(w.base + p)
		if err != nil {
			t.Errorf("GET %s: %v", p, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "PRIVATE KEY") {
			t.Errorf("GET %s shows a private key", p)
		}
	}
	if strings.Contains(w.vm.Console.Tail(10000), "PRIVATE KEY") {
		t.Error("the console shows a private key")
	}
}
