package control

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/certs"
	"github.com/tunneler/tunneler/appliance/config"
)

// Kinds of certificate the box keeps.
const (
	CertBox  = "box"  // the box's own (Certificates.Cert)
	CertCA   = "ca"   // an imported CA (Certificates.CAs)
	CertPeer = "peer" // an imported remote device's certificate (Certificates.Peers)
)

// ExpiryWarning is how long before a certificate expires its alarm is
// raised: time enough to get a new one from a CA.
const ExpiryWarning = 30 * 24 * time.Hour

// DefaultSelfSignedValidity is how long a self-signed certificate made on
// the box lasts.
const DefaultSelfSignedValidity = 3 * 365 * 24 * time.Hour

// CertStatus is one certificate as the IPsec page shows it.
type CertStatus struct {
	Kind string `json:"kind"` // CertBox, CertCA or CertPeer
	Name string `json:"name"` // "" for the box's own
	certs.Info
	// State is "valid", "expiring" (within ExpiryWarning), "expired" or
	// "not yet valid"; Problem says it in words when not valid.
	State   string `json:"state"`
	Problem string `json:"problem,omitempty"`
	// DaysLeft is whole days until NotAfter (negative once expired).
	DaysLeft int `json:"days_left"`
	// Tunnels are the tunnels and profiles that use it.
	Tunnels []string `json:"tunnels,omitempty"`
}

// CertsStatus is the certificates part of the status snapshot.
type CertsStatus struct {
	// HasKey says the box has made its key; KeyType is its kind. The key
	// itself never leaves the owner.
	HasKey bool `json:"has_key"`
	// Request is the pending certificate signing request (PEM, public):
	// the operator downloads it for a CA to sign.
	Request string       `json:"request,omitempty"`
	Certs   []CertStatus `json:"certificates,omitempty"`
}

// certState says where c stands at now.
func certState(info certs.Info, now time.Time) (state, problem string, days int) {
	days = int(info.NotAfter.Sub(now).Hours() / 24)
	switch {
	case now.After(info.NotAfter):
		return "expired", fmt.Sprintf("expired on %s", info.NotAfter.UTC().Format("2006-01-02")), days
	case now.Before(info.NotBefore):
		return "not yet valid", fmt.Sprintf("not valid before %s; check the clock", info.NotBefore.UTC().Format("2006-01-02")), days
	case info.NotAfter.Sub(now) < ExpiryWarning:
		return "expiring", fmt.Sprintf("expires in %d days, on %s", days, info.NotAfter.UTC().Format("2006-01-02")), days
	}
	return "valid", "", days
}

// CertificatesStatus describes c's certificates at now.
func CertificatesStatus(c config.Config, now time.Time) CertsStatus {
	cs := c.Certificates
	out := CertsStatus{HasKey: !cs.Key.IsZero(), Request: cs.Request}
	users := func(match func(config.IKESettings) bool) []string {
		var names []string
		for _, t := range c.Tunnels {
			if t.Auth == config.AuthCert && match(t.IKESettings) {
				names = append(names, t.Name)
			}
		}
		for _, p := range c.Profiles {
			if p.Auth == config.AuthCert && match(p.IKESettings) {
				names = append(names, "profile "+p.Name)
			}
		}
		return names
	}
	add := func(kind, name, pemText string, used []string) {
		cert, err := certs.ParseCert("certificate", []byte(pemText))
		if err != nil {
			out.Certs = append(out.Certs, CertStatus{Kind: kind, Name: name, State: "unreadable", Problem: err.Error(), Tunnels: used})
			return
		}
		info := certs.Describe(cert)
		st, problem, days := certState(info, now)
		out.Certs = append(out.Certs, CertStatus{Kind: kind, Name: name, Info: info, State: st, Problem: problem, DaysLeft: days, Tunnels: used})
	}
	if cs.Cert != "" {
		add(CertBox, "", cs.Cert, users(func(config.IKESettings) bool { return true }))
	}
	for _, ca := range cs.CAs {
		add(CertCA, ca.Name, ca.PEM, users(func(s config.IKESettings) bool { return s.CA == "" || s.CA == ca.Name }))
	}
	for _, p := range cs.Peers {
		add(CertPeer, p.Name, p.PEM, users(func(s config.IKESettings) bool { return s.PeerCert == p.Name }))
	}
	return out
}

// CertAlarmKey names a certificate's expiry alarm.
func CertAlarmKey(kind, name string) string {
	if name == "" {
		return "cert:" + kind
	}
	return "cert:" + kind + ":" + name
}

// certAlarms raises an alarm for each certificate that expires within
// ExpiryWarning (a warning) or has expired (an error), and clears the
// alarms of certificates renewed or removed.
func certAlarms(m *alarm.Manager, st CertsStatus, now time.Time) {
	if m == nil {
		return
	}
	want := map[string]bool{}
	for _, c := range st.Certs {
		key := CertAlarmKey(c.Kind, c.Name)
		what := certWhat(c.Kind, c.Name)
		switch c.State {
		case "expiring":
			m.Raise(now, key, alarm.Warning, fmt.Sprintf("%s %s %s", what, c.Subject, c.Problem))
		case "expired", "not yet valid", "unreadable":
			// An expiring alarm turns into an expired one.
			if a, ok := activeAlarm(m, key); ok && a.Severity != alarm.Error {
				m.Clear(now, key, "now "+c.State)
			}
			m.Raise(now, key, alarm.Error, fmt.Sprintf("%s %s %s: tunnels using it cannot authenticate", what, c.Subject, c.Problem))
		default:
			continue
		}
		want[key] = true
	}
	for _, a := range m.Active() {
		if strings.HasPrefix(a.Key, "cert:") && !want[a.Key] {
			m.Clear(now, a.Key, "certificate renewed or removed")
		}
	}
}

func activeAlarm(m *alarm.Manager, key string) (alarm.Alarm, bool) {
	for _, a := range m.Active() {
		if a.Key == key {
			return a, true
		}
	}
	return alarm.Alarm{}, false
}

func certWhat(kind, name string) string {
	switch kind {
	case CertBox:
		return "the box's certificate"
	case CertCA:
		return fmt.Sprintf("CA certificate %q", name)
	}
	return fmt.Sprintf("remote device certificate %q", name)
}

// CheckCertificates raises and clears the certificates' expiry alarms
// for the saved config; Status does it too, and init calls it daily so
// the alarm fires with no page open.
func (o *Owner) CheckCertificates() {
	if o.d.Alarms == nil {
		return
	}
	c, _, _ := o.stored()
	now := o.d.Now()
	certAlarms(o.d.Alarms(), CertificatesStatus(c, now), now)
}

// MakeCert is what the Certificates page asks the box to make.
type MakeCert struct {
	KeyType certs.KeyType
	certs.Request
	// SelfSigned makes a self-signed certificate (valid for Validity,
	// DefaultSelfSignedValidity when zero) instead of a signing request.
	SelfSigned bool
	Validity   time.Duration
}

// MakeBoxCert makes a new key for the box and either a signing request
// (kept until the CA's certificate is uploaded) or a self-signed
// certificate, and saves them (WithNewBoxCert).
func (o *Owner) MakeBoxCert(ctx context.Context, m MakeCert, base int, src Source) (config.FieldErrors, error) {
	c, _, _ := o.stored()
	c, errs := WithNewBoxCert(c, m, o.d.Now())
	if errs != nil {
		return errs, nil
	}
	o.d.Logf("certificates: made a new %s key and %s", keyTypeOr(m.KeyType), map[bool]string{true: "a self-signed certificate", false: "a signing request"}[m.SelfSigned])
	return o.Save(ctx, Change{Config: c, Base: base, Source: src})
}

// ImportCert checks and saves an imported certificate (WithImportedCert).
func (o *Owner) ImportCert(ctx context.Context, kind, name string, pemText []byte, base int, src Source) (config.FieldErrors, error) {
	c, _, _ := o.stored()
	c, errs, err := WithImportedCert(c, kind, name, pemText, o.d.Now())
	if errs != nil || err != nil {
		return errs, err
	}
	errs, err = o.Save(ctx, Change{Config: c, Base: base, Source: src})
	return CertFormErrors(errs), err
}

// RemoveCert removes an imported certificate, or the box's key and
// certificate (WithoutCert).
func (o *Owner) RemoveCert(ctx context.Context, kind, name string, base int, src Source) (config.FieldErrors, error) {
	c, _, _ := o.stored()
	c, err := WithoutCert(c, kind, name)
	if err != nil {
		return nil, err
	}
	return o.Save(ctx, Change{Config: c, Base: base, Source: src})
}

// WithNewBoxCert returns c with a new key for the box and either a
// signing request or a self-signed certificate; the old key and
// certificate are replaced, so remote devices that pinned the old
// certificate need the new one. Errors name the form's fields (key_type,
// common_name).
func WithNewBoxCert(c config.Config, m MakeCert, now time.Time) (config.Config, config.FieldErrors) {
	key, err := certs.GenerateKey(rand.Reader, m.KeyType)
	if err != nil {
		return c, config.FieldErrors{{Field: "key_type", Message: err.Error()}}
	}
	cs := c.Certificates
	cs.Key = config.NewSecret(string(key))
	cs.Cert, cs.Request = "", ""
	if m.SelfSigned {
		v := m.Validity
		if v <= 0 {
			v = DefaultSelfSignedValidity
		}
		cert, err := certs.SelfSigned(rand.Reader, key, m.Request, now, v)
		if err != nil {
			return c, config.FieldErrors{{Field: "common_name", Message: err.Error()}}
		}
		cs.Cert = string(cert)
	} else {
		csr, err := certs.NewCSR(rand.Reader, key, m.Request)
		if err != nil {
			return c, config.FieldErrors{{Field: "common_name", Message: err.Error()}}
		}
		cs.Request = string(csr)
	}
	c.Certificates = cs
	return c, nil
}

func keyTypeOr(t certs.KeyType) certs.KeyType {
	if t == "" {
		return certs.ECDSAP256
	}
	return t
}

// WithImportedCert returns c with an imported certificate: the box's own
// (it must carry the box's key: issued from the box's request), a CA's,
// or a remote device's, named name (a certificate of that name is
// replaced: a renewal keeps the name the tunnels use). A certificate that
// is expired, not yet valid, not a CA where a CA is wanted, or not for
// the box's key is refused with what is wrong, on the form's field "pem".
// An unknown kind is an error.
func WithImportedCert(c config.Config, kind, name string, pemText []byte, now time.Time) (config.Config, config.FieldErrors, error) {
	fail := func(err error) (config.Config, config.FieldErrors, error) {
		return c, config.FieldErrors{{Field: "pem", Message: err.Error()}}, nil
	}
	what, ok := map[string]string{CertBox: "the uploaded certificate", CertCA: "the CA certificate", CertPeer: "the remote device's certificate"}[kind]
	if !ok {
		return c, nil, fmt.Errorf("%q is not a kind of certificate (box, ca or peer)", kind)
	}
	cert, err := certs.ParseCert(what, pemText)
	if err != nil {
		return fail(err)
	}
	clean := string(pemOnly(cert))
	cs := c.Certificates
	cs.CAs, cs.Peers = slices.Clone(cs.CAs), slices.Clone(cs.Peers)
	switch kind {
	case CertBox:
		if cs.Key.IsZero() {
			return fail(fmt.Errorf("the box has no key yet; make a signing request first, then upload what the CA returns"))
		}
		if err := certs.CheckOwn(what, cert, []byte(cs.Key.Reveal()), now); err != nil {
			return fail(err)
		}
		cs.Cert, cs.Request = clean, ""
	case CertCA, CertPeer:
		list, check := &cs.CAs, certs.CheckCA
		if kind == CertPeer {
			list, check = &cs.Peers, certs.CheckPeer
		}
		if err := check(what, cert, now); err != nil {
			return fail(err)
		}
		if i := slices.IndexFunc(*list, func(n config.NamedCert) bool { return n.Name == name }); i >= 0 {
			(*list)[i].PEM = clean
		} else {
			*list = append(*list, config.NamedCert{Name: name, PEM: clean})
		}
	}
	c.Certificates = cs
	return c, nil, nil
}

// CertFormErrors moves the certificates section's field errors onto the
// import form's two fields, name and pem.
func CertFormErrors(errs config.FieldErrors) config.FieldErrors {
	for i := range errs {
		switch f := errs[i].Field; {
		case strings.HasPrefix(f, "certificates.") && strings.HasSuffix(f, ".name"):
			errs[i].Field = "name"
		case strings.HasPrefix(f, "certificates.") && strings.HasSuffix(f, ".pem"), f == "certificates.cert":
			errs[i].Field = "pem"
		}
	}
	return errs
}

// WithoutCert returns c without an imported certificate, or without the
// box's key and certificate (kind CertBox). Validate refuses the result
// while a tunnel uses what went.
func WithoutCert(c config.Config, kind, name string) (config.Config, error) {
	cs := c.Certificates
	drop := func(list []config.NamedCert) ([]config.NamedCert, error) {
		i := slices.IndexFunc(list, func(n config.NamedCert) bool { return n.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("no %s certificate named %q", kind, name)
		}
		return slices.Delete(slices.Clone(list), i, i+1), nil
	}
	var err error
	switch kind {
	case CertBox:
		cs.Key, cs.Cert, cs.Request = config.Secret{}, "", ""
	case CertCA:
		cs.CAs, err = drop(cs.CAs)
	case CertPeer:
		cs.Peers, err = drop(cs.Peers)
	default:
		err = fmt.Errorf("%q is not a kind of certificate (box, ca or peer)", kind)
	}
	if err != nil {
		return c, err
	}
	c.Certificates = cs
	return c, nil
}

// pemOnly is the certificate alone, without text around it.
func pemOnly(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
