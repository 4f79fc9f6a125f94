package webui

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/certs/certstest"
	"github.com/tunneler/tunneler/appliance/control"
)

// The Certificates page end to end on the fake box: a key and request
// made, the CA's certificate uploaded (a wrong one refused at the field),
// a CA imported, a tunnel switched to certificates; the expiry shows on
// the IPsec page and in the API, and the key is in no page, answer or
// log line.
func TestCertificatesPage(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	post := func(path string, v url.Values) (int, string, string) {
		t.Helper()
		v.Set("csrf", tok)
		return h.post(path, v)
	}
	if _, _, body := h.get("/certificates"); !strings.Contains(body, "The box has no key yet") {
		t.Fatalf("certificates page before a key:\n%s", body)
	}
	st, path, body := post("/certificates/make", url.Values{"common_name": {""}})
	if st != 422 || !strings.Contains(fieldErr(body, "common_name"), "common name is empty") {
		t.Errorf("make without a name: %d %q", st, fieldErr(body, "common_name"))
	}
	st, path, body = post("/certificates/make", url.Values{"common_name": {"tunneler-hq"}, "key_type": {"ecdsa-p256"}})
	if st != 200 || path != "/certificates" || !strings.Contains(body, "-----BEGIN CERTIFICATE REQUEST-----") {
		t.Fatalf("make a request: %d at %s\n%s", st, path, body)
	}
	st, _, csr := h.get("/certificates/request.csr")
	if st != 200 || !strings.HasPrefix(csr, "-----BEGIN CERTIFICATE REQUEST-----") {
		t.Fatalf("download the request: %d %q", st, csr)
	}

	now := h.box.now
	valid := certstest.Around(now, time.Hour, 20*24*time.Hour)
	ca, err := certstest.NewCA("HQ CA", certstest.Around(now, time.Hour, 365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ca.SignCSR([]byte(csr), valid)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.Issue("someone-else", valid)
	if err != nil {
		t.Fatal(err)
	}
	st, _, body = post("/certificates/import", url.Values{"kind": {"box"}, "pem": {string(other.PEM)}})
	if st != 422 || !strings.Contains(fieldErr(body, "pem"), "was not issued for the box&#39;s key") {
		t.Errorf("upload of a certificate for another key: %d %q", st, fieldErr(body, "pem"))
	}
	if st, path, body := post("/certificates/import", url.Values{"kind": {"box"}, "pem": {string(signed)}}); st != 200 || path != "/certificates" {
		t.Fatalf("upload the signed certificate: %d at %s\n%s", st, path, body)
	}
	st, _, body = post("/certificates/import", url.Values{"kind": {"ca"}, "name": {"hq-ca"}, "pem": {"not a certificate"}})
	if st != 422 || !strings.Contains(fieldErr(body, "import_pem"), "the CA certificate is not PEM") {
		t.Errorf("import of junk as a CA: %d %q", st, fieldErr(body, "import_pem"))
	}
	st, _, body = post("/certificates/import", url.Values{"kind": {"ca"}, "name": {"hq-ca"}, "pem": {string(other.PEM)}})
	if st != 422 || !strings.Contains(fieldErr(body, "import_pem"), "is not a CA certificate") {
		t.Errorf("import of a device certificate as a CA: %d %q", st, fieldErr(body, "import_pem"))
	}
	if st, _, body := post("/certificates/import", url.Values{"kind": {"ca"}, "name": {"hq-ca"}, "pem": {string(ca.PEM)}}); st != 200 {
		t.Fatalf("import the CA: %d\n%s", st, body)
	}

	v := goodTunnel()
	v.Del("psk")
	v.Set("auth", "cert")
	v.Set("ca", "nope")
	v.Set("confirm", "yes")
	st, _, body = post("/tunnels/site1/edit", v)
	if st != 422 || !strings.Contains(fieldErr(body, "ca"), `&#34;nope&#34; is not an imported CA certificate; imported: [hq-ca]`) {
		t.Errorf("tunnel naming an unknown CA: %d %q", st, fieldErr(body, "ca"))
	}
	v.Set("ca", "hq-ca")
	if st, path, body := post("/tunnels/site1/edit", v); st != 200 || path != "/apply" {
		t.Fatalf("tunnel with certificates: %d at %s\n%s", st, path, body)
	}
	if got := h.box.cfg.Tunnels[0]; got.Auth != "cert" || got.CA != "hq-ca" {
		t.Errorf("saved tunnel: auth %q ca %q", got.Auth, got.CA)
	}

	_, _, ipsecPage := h.get("/ipsec")
	for _, want := range []string{`id="ipsec-certs"`, `id="cert-box"`, "CN=tunneler-hq", "expires in 20 days", `id="cert-ca-hq-ca"`} {
		if !strings.Contains(ipsecPage, want) {
			t.Errorf("IPsec page lacks %q", want)
		}
	}
	_, _, js := h.do(h.c, "GET", "/api/certificates", nil, nil)
	var d struct {
		HasKey bool                 `json:"has_key"`
		Certs  []control.CertStatus `json:"certificates"`
	}
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatalf("GET /api/certificates: %v\n%s", err, js)
	}
	if !d.HasKey || len(d.Certs) != 2 || d.Certs[0].State != "expiring" || d.Certs[0].DaysLeft != 20 ||
		strings.Join(d.Certs[1].Tunnels, ",") != "site1" {
		t.Errorf("GET /api/certificates: %+v", d)
	}

	key := h.box.cfg.Certificates.Key.Reveal()
	keyLine := strings.Split(key, "\n")[1]
	if keyLine == "" {
		t.Fatal("the box has no key")
	}
	for _, p := range []string{"/certificates", "/api/certificates", "/ipsec", "/api/ipsec", "/export", "/tunnels/site1/edit", "/settings"} {
		if _, _, b := h.get(p); strings.Contains(b, keyLine) || strings.Contains(b, "PRIVATE KEY") {
			t.Errorf("%s shows the private key", p)
		}
	}
	if strings.Contains(h.logs.String(), keyLine) {
		t.Error("the log carries the private key")
	}

	// A CA a tunnel uses cannot go.
	st, _, body = post("/certificates/remove", url.Values{"kind": {"ca"}, "name": {"hq-ca"}, "confirm": {"yes"}})
	if st != 422 || !strings.Contains(body, "tunnels[0].ca") {
		t.Errorf("removing the tunnel's CA: %d\n%s", st, body)
	}
}
