package webui

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tunneler/tunneler/appliance/certs"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// The Certificates page: the box's key and certificate (made here, as a
// signing request for a CA or self-signed), and the CAs and remote
// devices' certificates tunnels with auth = cert trust. The key never
// leaves the box but inside an encrypted backup; the page shows only
// that there is one.
//
//	GET  /certificates                     the page (JSON: the status's certificates)
//	POST /certificates/make                key_type, common_name, organization, self_signed=yes
//	GET  /certificates/request.csr         the pending signing request (PEM)
//	POST /certificates/import              kind=box|ca|peer, name (ca, peer), pem or pem_file
//	POST /certificates/remove              kind, name, confirm=yes

// maxCertBytes bounds an uploaded certificate: a PEM certificate is a few
// kilobytes; text around it (openssl's dump) a few more.
const maxCertBytes = 64 << 10

// certsData is the Certificates page's data.
type certsData struct {
	control.CertsStatus
	KeyTypes []certs.KeyType `json:"key_types"`
}

func (s *Server) certsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, "certificates", s.certsBase(sess))
}

// certsBase is the Certificates page with its data, which a form's
// errors are shown on.
func (s *Server) certsBase(sess *session) *page {
	p := s.base(sess, "Certificates", "ipsec")
	p.Data = certsData{CertsStatus: s.box.Status().Certificates, KeyTypes: certs.KeyTypes}
	return p
}

func (s *Server) certsMake(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.certsBase(sess)
	base, err := baseGeneration(r)
	if err != nil {
		s.fail(w, r, http.StatusPreconditionRequired, err.Error())
		return
	}
	p.Form = r.PostForm
	m := control.MakeCert{KeyType: certs.KeyType(field(r.PostForm, "key_type")),
		Request:    certs.Request{CommonName: field(r.PostForm, "common_name"), Organization: field(r.PostForm, "organization")},
		SelfSigned: r.PostFormValue("self_signed") == "yes"}
	errs, err := s.box.MakeBoxCert(r.Context(), m, base, source(r))
	if !s.saveOutcome(w, r, p, base, "certificates", errs, err, s.certErrors(p)) {
		return
	}
	s.logf("webui: made a new key and %s from %s", map[bool]string{true: "a self-signed certificate", false: "a signing request"}[m.SelfSigned], sourceKey(r))
	done(w, r, "/certificates", nil)
}

func (s *Server) certsRequest(w http.ResponseWriter, r *http.Request, sess *session) {
	req := s.box.Status().Certificates.Request
	if req == "" {
		s.fail(w, r, http.StatusNotFound, "there is no pending signing request; make one on the Certificates page")
		return
	}
	w.Header().Set("Content-Type", "application/pkcs10")
	w.Header().Set("Content-Disposition", `attachment; filename="tunneler.csr"`)
	io.WriteString(w, req)
}

func (s *Server) certsImport(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.certsBase(sess)
	pemText := certFrom(r)
	base, err := baseGeneration(r)
	if err != nil {
		s.fail(w, r, http.StatusPreconditionRequired, err.Error())
		return
	}
	kind, name := field(r.Form, "kind"), field(r.Form, "name")
	// Not the pasted text: it could be a key pasted by mistake.
	p.Form = url.Values{"kind": {kind}, "name": {name}}
	if kind != control.CertBox && name == "" {
		p.addErr("name", "is missing; give the certificate a short name like hq-ca, which tunnels use")
		s.render(w, r, "certificates", p)
		return
	}
	errs, err := s.box.ImportCert(r.Context(), kind, name, pemText, base, source(r))
	if kind != control.CertBox {
		for i := range errs {
			if errs[i].Field == "pem" {
				errs[i].Field = "import_pem" // the import form's, not the upload's
			}
		}
	}
	if !s.saveOutcome(w, r, p, base, "certificates", errs, err, s.certErrors(p)) {
		return
	}
	s.logf("webui: imported a %s certificate %q from %s", kind, name, sourceKey(r))
	done(w, r, "/certificates", map[string]any{"kind": kind, "name": name})
}

func (s *Server) certsRemove(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.certsBase(sess)
	if r.PostFormValue("confirm") != "yes" {
		s.fail(w, r, http.StatusUnprocessableEntity, "confirm: tick the box to remove the certificate")
		return
	}
	base, err := baseGeneration(r)
	if err != nil {
		s.fail(w, r, http.StatusPreconditionRequired, err.Error())
		return
	}
	kind, name := field(r.PostForm, "kind"), field(r.PostForm, "name")
	errs, err := s.box.RemoveCert(r.Context(), kind, name, base, source(r))
	if !s.saveOutcome(w, r, p, base, "certificates", errs, err, s.certErrors(p)) {
		return
	}
	s.logf("webui: removed the %s certificate %q from %s", kind, name, sourceKey(r))
	done(w, r, "/certificates", nil)
}

// certErrors places errors on the Certificates page's fields; the rest
// (a tunnel that still uses what was removed) are general.
func (s *Server) certErrors(p *page) func(config.FieldErrors) {
	return func(errs config.FieldErrors) {
		for _, e := range errs {
			switch e.Field {
			case "pem", "import_pem", "name", "key_type", "common_name":
				p.addErr(e.Field, e.Message)
			default:
				p.addGeneral(e.Field, e.Message)
			}
		}
	}
}

// certFrom reads the uploaded file, or the pasted text.
func certFrom(r *http.Request) []byte {
	if f, _, err := r.FormFile("pem_file"); err == nil {
		b, _ := io.ReadAll(io.LimitReader(f, maxCertBytes))
		f.Close()
		if strings.TrimSpace(string(b)) != "" {
			return b
		}
	}
	v := r.FormValue("pem")
	if len(v) > maxCertBytes {
		v = v[:maxCertBytes]
	}
	return []byte(v)
}
