package control

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/certs"
	"github.com/tunneler/tunneler/appliance/certs/certstest"
	"github.com/tunneler/tunneler/appliance/config"
)

// The operator's whole path: a key and request made on the box, the CA's
// certificate uploaded, a CA imported, a tunnel switched to certificates;
// then expiry shows on the status and raises an alarm 30 days ahead.
func TestCertificatesMakeImportAndExpire(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clock := now
	st := &memStore{}
	alarms := alarm.New(0)
	o := New(Deps{Store: st, Apply: func(context.Context, config.Config) error { return nil },
		Now: func() time.Time { return clock }, Alarms: func() *alarm.Manager { return alarms }})
	ctx := context.Background()
	save := func(what string) func(config.FieldErrors, error) {
		return func(errs config.FieldErrors, err error) {
			t.Helper()
			if err != nil || len(errs) > 0 {
				t.Fatalf("%s: %v %v", what, errs, err)
			}
		}
	}
	save("first config")(o.Save(ctx, Change{Config: testConfig(), Source: FromAPI}))

	errs, err := o.MakeBoxCert(ctx, MakeCert{Request: certs.Request{CommonName: "tunneler-1"}}, o.Generation(), FromWebUI)
	save("make request")(errs, err)
	c, _, _ := o.Config()
	if !c.Certificates.Key.IsHidden() || c.Certificates.Request == "" || c.Certificates.Cert != "" {
		t.Fatalf("after making a request: key hidden %v, request %d bytes, cert %q", c.Certificates.Key.IsHidden(), len(c.Certificates.Request), c.Certificates.Cert)
	}
	if s := o.Status().Certificates; !s.HasKey || s.Request == "" || strings.Contains(s.Request, "PRIVATE") {
		t.Errorf("status certificates %+v", s)
	}

	ca, err := certstest.NewCA("Test CA", certstest.Validity{From: now.Add(-time.Hour), To: now.Add(400 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := certstest.NewCA("Other CA", certstest.Around(now, time.Hour, 400*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The box's certificate expires in 40 days.
	signed, err := ca.SignCSR([]byte(c.Certificates.Request), certstest.Validity{From: now.Add(-time.Hour), To: now.Add(40 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Issue("not-the-box", certstest.Around(now, time.Hour, 24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca.Issue("old", certstest.Validity{From: now.Add(-48 * time.Hour), To: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	// Refusals, each naming what is wrong; nothing is saved.
	gen := o.Generation()
	for _, tc := range []struct {
		kind, name string
		pem        []byte
		want       string
	}{
		{CertBox, "", foreign.PEM, "the uploaded certificate (O=Tunneler tests, CN=not-the-box) was not issued for the box's key"},
		{CertBox, "", []byte("junk"), "the uploaded certificate is not PEM"},
		{CertCA, "hq-ca", foreign.PEM, "the CA certificate (O=Tunneler tests, CN=not-the-box) is not a CA certificate"},
		{CertPeer, "gw", expired.PEM, "the remote device's certificate (O=Tunneler tests, CN=old) expired on"},
		{CertCA, "Bad Name", ca.PEM, `"Bad Name" is not a valid name`},
	} {
		errs, err := o.ImportCert(ctx, tc.kind, tc.name, tc.pem, gen, FromWebUI)
		if err != nil || len(errs) != 1 || !strings.Contains(errs[0].Message, tc.want) {
			t.Errorf("import %s %q: %v %v, want one error containing %q", tc.kind, tc.name, errs, err, tc.want)
		}
	}
	if o.Generation() != gen {
		t.Fatal("a refused import was saved")
	}

	errs, err = o.ImportCert(ctx, CertBox, "", signed, o.Generation(), FromWebUI)
	save("upload the signed certificate")(errs, err)
	errs, err = o.ImportCert(ctx, CertCA, "hq-ca", append([]byte("subject=...\n"), ca.PEM...), o.Generation(), FromWebUI)
	save("import the CA")(errs, err)
	c, _, _ = o.Config()
	if c.Certificates.Request != "" || !strings.HasPrefix(c.Certificates.CAs[0].PEM, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("request kept after the upload, or the CA kept with text around it")
	}
	c.Tunnels[0].Auth, c.Tunnels[0].CA, c.Tunnels[0].PSK = config.AuthCert, "hq-ca", config.Secret{}
	save("switch the tunnel to certificates")(o.Save(ctx, Change{Config: c, Base: o.Generation()}))

	stored, _, _ := st.Load()
	tun := stored.AllTunnels()[0]
	if tun.LocalID != "CN=tunneler-1" || tun.CertAuth == nil || len(tun.CertAuth.CAs) != 1 {
		t.Errorf("tunnel as charon gets it: local id %q, cert auth %+v", tun.LocalID, tun.CertAuth)
	}

	status := o.Status().Certificates
	if len(status.Certs) != 2 || status.Certs[0].Kind != CertBox || status.Certs[0].State != "valid" ||
		status.Certs[0].DaysLeft != 40 || strings.Join(status.Certs[0].Tunnels, ",") != "site1" ||
		status.Certs[1].Name != "hq-ca" || strings.Join(status.Certs[1].Tunnels, ",") != "site1" {
		t.Errorf("certificates status %+v", status)
	}
	if len(alarms.Active()) != 0 {
		t.Errorf("alarms 40 days before expiry: %+v", alarms.Active())
	}

	// 11 days later: 29 days left, a warning.
	clock = now.Add(11 * 24 * time.Hour)
	o.CheckCertificates()
	act := alarms.Active()
	if len(act) != 1 || act[0].Key != "cert:box" || act[0].Severity != alarm.Warning ||
		!strings.Contains(act[0].Reason, "the box's certificate CN=tunneler-1 expires in 29 days") {
		t.Errorf("alarms 29 days before expiry: %+v", act)
	}
	// Expired: an error.
	clock = now.Add(41 * 24 * time.Hour)
	o.Status()
	act = alarms.Active()
	if len(act) != 1 || act[0].Severity != alarm.Error || !strings.Contains(act[0].Reason, "expired on") {
		t.Errorf("alarms after expiry: %+v", act)
	}
	// Removing a CA a tunnel uses is refused; removing the box's
	// certificate too.
	if errs, err := o.RemoveCert(ctx, CertCA, "hq-ca", o.Generation(), FromWebUI); err != nil || len(errs) == 0 {
		t.Errorf("removing the tunnel's CA: %v %v, want field errors", errs, err)
	}
	// Back to PSK, then the box's certificate can go, and its alarm clears.
	c, _, _ = o.Config()
	c.Tunnels[0].Auth, c.Tunnels[0].CA, c.Tunnels[0].PSK = config.AuthPSK, "", config.NewSecret(psk)
	save("back to PSK")(o.Save(ctx, Change{Config: c, Base: o.Generation()}))
	save("remove the box's certificate")(o.RemoveCert(ctx, CertBox, "", o.Generation(), FromWebUI))
	o.CheckCertificates()
	if act := alarms.Active(); len(act) != 0 {
		t.Errorf("alarms after the certificate went: %+v", act)
	}
}

func TestMakeSelfSigned(t *testing.T) {
	st := &memStore{}
	o := New(Deps{Store: st, Apply: func(context.Context, config.Config) error { return nil }})
	ctx := context.Background()
	if errs, err := o.Save(ctx, Change{Config: testConfig()}); err != nil || len(errs) > 0 {
		t.Fatal(errs, err)
	}
	errs, err := o.MakeBoxCert(ctx, MakeCert{KeyType: "dsa", Request: certs.Request{CommonName: "x"}}, o.Generation(), FromAPI)
	if err != nil || len(errs) != 1 || errs[0].Field != "key_type" {
		t.Errorf("unknown key type: %v %v", errs, err)
	}
	errs, err = o.MakeBoxCert(ctx, MakeCert{SelfSigned: true, KeyType: certs.RSA3072, Request: certs.Request{CommonName: "box-1"}}, o.Generation(), FromAPI)
	if err != nil || len(errs) > 0 {
		t.Fatal(errs, err)
	}
	s := o.Status().Certificates
	if len(s.Certs) != 1 || !s.Certs[0].SelfSigned || s.Certs[0].KeyType != "RSA 3072" || s.Request != "" || s.Certs[0].DaysLeft < 3*365-1 {
		t.Errorf("self-signed status %+v", s)
	}
}
