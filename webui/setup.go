package webui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// setupSteps are the wizard's steps after the setup code, in order.
// "router" takes the OpenZiti router's enrollment token, or is skipped
// (setuprouter.go).
var setupSteps = []string{"password", "interfaces", "tunnel", "router", "review"}

// interface and tunnel form fields, for error mapping.
var (
	interfaceFields = fieldSet("wan_mode", "wan_address", "wan_gateway", "wan_dns", "wan_mac", "lan_mode", "lan_address", "lan_gateway", "lan_dns", "lan_mac")
	tunnelFields    = fieldSet(append([]string{"name", "peer_address", "local_address", "remote_networks", "local_networks",
		"mode", "if_id", "routes"}, ikeFields...)...)
	systemFields = fieldSet("hostname", "timezone", "ntp_servers", "remote_syslog")
)

func fieldSet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// interfacePrefixes maps "interfaces[j]" to the form prefix of its role.
func interfacePrefixes(ifs []config.Interface) map[string]string {
	m := map[string]string{}
	for j, in := range ifs {
		if in.Role == config.RoleWAN || in.Role == config.RoleLAN {
			m["interfaces["+itoa(j)+"]"] = string(in.Role) + "_"
		}
	}
	return m
}

func (s *Server) setupGet(w http.ResponseWriter, r *http.Request) {
	if !s.inSetup() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if sess := s.sessions.get(r, s.now()); sess != nil && sess.setup {
		http.Redirect(w, r, "/setup/"+setupSteps[sess.step], http.StatusSeeOther)
		return
	}
	s.render(w, r, "setupcode", &page{Title: "Set up this box", Setup: true})
}

// setupCode checks the one-time code from the console and opens a setup
// session. Wrong codes count against the source like wrong passwords.
func (s *Server) setupCode(w http.ResponseWriter, r *http.Request) {
	if !s.inSetup() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if s.credentialRefused(w, r, "request") {
		return
	}
	code := decodeSetupCode(r.PostForm)
	if code == "" || !s.box.CheckSetupCode(code) {
		s.wrongCredential(r, "wrong setup code")
		p := &page{Title: "Set up this box", Setup: true}
		if code == "" {
			p.addErr("code", "is missing: type the code shown on the box's console")
		} else {
			p.addErr("code", "is not the code shown on the box's console; check it and try again")
		}
		s.render(w, r, "setupcode", p)
		return
	}
	s.limit.ok(sourceKey(r))
	sess := s.sessions.create(s.now(), true)
	sess.draft = config.Config{Version: config.CurrentVersion}
	c, gen, ok := s.box.Config()
	sess.draftGen = gen
	if ok {
		sess.draft = c // a box reset to setup keeps its network settings as a start
		sess.draft.Admin.PasswordHash = config.Secret{}
	}
	setSessionCookie(w, sess)
	done(w, r, "/setup/password", map[string]any{"csrf": sess.csrf})
}

func stepIndex(step string) int { return slices.Index(setupSteps, step) }

func (s *Server) setupPage(sess *session, step string) *page {
	p := s.base(sess, "Set up: "+step, "")
	p.Step = step
	p.Setup = true
	p.Form = url.Values{}
	d := sess.draft
	switch step {
	case "interfaces":
		p.Form = interfacesForm(d.Interfaces)
	case "tunnel":
		if len(d.Tunnels) > 0 {
			p.Form = tunnelToForm(d.Tunnels[0])
		} else {
			p.Form.Set("name", "site1")
		}
	}
	_, canEnroll := s.box.(SetupEnroller)
	p.Data = setupData{Step: step, Draft: d, Presets: config.PresetNames(), HasPSK: len(d.Tunnels) > 0 && !d.Tunnels[0].PSK.IsZero(),
		RouterToken: len(sess.routerJWT) > 0, CanEnroll: canEnroll,
		Problems: s.box.Status().Problems}
	return p
}

// setupData is the wizard's page data (and its JSON answer). Draft's
// secrets marshal as "(hidden)".
type setupData struct {
	Step         string        `json:"step"`
	Draft        config.Config `json:"draft"`
	Presets      []string      `json:"presets"`
	HasPSK       bool          `json:"has_psk"`
	GeneratedPSK string        `json:"generated_psk,omitempty"`
	// RouterToken: the router step was given a token (never shown again),
	// enrolled at apply; CanEnroll: the box can enroll a router.
	RouterToken bool `json:"router_token"`
	CanEnroll   bool `json:"can_enroll"`
	// Problems the box found at boot, e.g. a provisioning file it could
	// not import: the reason it is in setup mode at all.
	Problems []BootProblem `json:"problems,omitempty"`
}

func (s *Server) setupStepGet(w http.ResponseWriter, r *http.Request, sess *session) {
	step := r.PathValue("step")
	i := stepIndex(step)
	if i < 0 {
		http.NotFound(w, r)
		return
	}
	if i > sess.step { // no skipping ahead past unfinished steps
		http.Redirect(w, r, "/setup/"+setupSteps[sess.step], http.StatusSeeOther)
		return
	}
	s.render(w, r, "setup", s.setupPage(sess, step))
}

func (s *Server) advance(w http.ResponseWriter, r *http.Request, sess *session, step string) {
	i := stepIndex(step) + 1
	sess.step = max(sess.step, i)
	done(w, r, "/setup/"+setupSteps[i], map[string]any{"next": setupSteps[i]})
}

func (s *Server) setupStepPost(w http.ResponseWriter, r *http.Request, sess *session) {
	step := r.PathValue("step")
	i := stepIndex(step)
	if i < 0 || i > sess.step {
		http.NotFound(w, r)
		return
	}
	if r.PostFormValue("back") != "" && i > 0 {
		done(w, r, "/setup/"+setupSteps[i-1], nil)
		return
	}
	p := s.setupPage(sess, step)
	switch step {
	case "password":
		f := decodePasswordForm(r.PostForm)
		p.addErrs(f.problems())
		h, ok := s.hashNewPassword(w, r, p, "setup", f.New)
		if !ok {
			return
		}
		sess.draft.Admin.PasswordHash = h
	case "interfaces":
		ifs := decodeInterfacesForm(r.PostForm, sess.draft.Interfaces)
		trial := sess.draft
		trial.Interfaces = ifs
		p.Form = r.PostForm
		mapErrors(p, only(trial.Validate(), "interfaces"), interfacePrefixes(ifs), interfaceFields)
		if p.hasErrors() {
			s.render(w, r, "setup", p)
			return
		}
		sess.draft.Interfaces = ifs
	case "tunnel":
		p.Form = r.PostForm
		if r.PostFormValue("action") == "generate" {
			d := p.Data.(setupData)
			d.GeneratedPSK = config.GeneratePSK().Reveal()
			p.Data = d
			s.render(w, r, "setup", p)
			return
		}
		f := decodeTunnelForm(r.PostForm)
		if f.KeepPSK && len(sess.draft.Tunnels) > 0 {
			f.Tunnel.PSK = sess.draft.Tunnels[0].PSK
		}
		p.addErrs(f.Bad)
		trial := sess.draft
		trial.Tunnels = []config.Tunnel{f.Tunnel}
		mapErrors(p, only(trial.Validate(), "tunnels[0]"), map[string]string{"tunnels[0]": ""}, tunnelFields)
		if p.hasErrors() {
			s.render(w, r, "setup", p)
			return
		}
		sess.draft.Tunnels = trial.Tunnels
	case "router":
		if !s.setupRouterStep(w, r, sess, p) {
			return
		}
	case "review":
		s.finishSetup(w, r, sess, p)
		return
	}
	s.advance(w, r, sess, step)
}

// only keeps the errors under one path prefix.
func only(errs config.FieldErrors, prefix string) config.FieldErrors {
	var out config.FieldErrors
	for _, e := range errs {
		if e.Field == prefix || strings.HasPrefix(e.Field, prefix+".") || strings.HasPrefix(e.Field, prefix+"[") {
			out = append(out, e)
		}
	}
	return out
}

// finishSetup saves the draft. On field errors nothing is saved and the
// first step with a problem is shown with the errors next to its fields.
func (s *Server) finishSetup(w http.ResponseWriter, r *http.Request, sess *session, p *page) {
	var errs config.FieldErrors
	var err error
	ch := control.Change{Config: sess.draft, Base: sess.draftGen, Source: source(r)}
	if se, ok := s.box.(SetupEnroller); ok && len(sess.routerJWT) > 0 {
		errs, err = se.SaveAndEnroll(r.Context(), ch, sess.routerJWT)
	} else {
		errs, err = s.box.Save(r.Context(), ch)
	}
	if s.changeFailed(w, r, err, "save the configuration") {
		return
	}
	if len(errs) > 0 {
		step := "review"
		switch {
		case len(only(errs, "interfaces")) > 0:
			step = "interfaces"
		case len(only(errs, "tunnels")) > 0:
			step = "tunnel"
		case len(only(errs, "router.jwt")) > 0:
			step = "router" // the token expired since it was checked
			sess.routerJWT = nil
		}
		p = s.setupPage(sess, step)
		mapErrors(p, errs, map[string]string{"tunnels[0]": ""}, tunnelFields)
		if step == "interfaces" {
			p = s.setupPage(sess, step)
			mapErrors(p, errs, interfacePrefixes(sess.draft.Interfaces), interfaceFields)
		}
		if step == "router" {
			p = s.setupPage(sess, step)
			mapErrors(p, errs, map[string]string{"router": ""}, fieldSet("jwt"))
		}
		s.render(w, r, "setup", p)
		return
	}
	// The operator just chose the password: the setup session becomes a
	// login, and the draft (with its PSK) is dropped from memory.
	sess.setup = false
	sess.draft = config.Config{}
	sess.routerJWT = nil
	s.logf("webui: first configuration saved from %s", sourceKey(r))
	done(w, r, "/apply", nil)
}

func interfacesForm(ifs []config.Interface) url.Values {
	v := url.Values{}
	for _, role := range []config.Role{config.RoleWAN, config.RoleLAN} {
		r := string(role)
		v.Set(r+"_mode", string(config.ModeDHCP))
		for _, in := range ifs {
			if in.Role != role {
				continue
			}
			if in.Mode != "" {
				v.Set(r+"_mode", string(in.Mode))
			}
			if !in.Address.IsZero() {
				v.Set(r+"_address", in.Address.String())
			}
			if !in.Gateway.IsZero() {
				v.Set(r+"_gateway", in.Gateway.String())
			}
			var dns []string
			for _, d := range in.DNS {
				dns = append(dns, d.String())
			}
			v.Set(r+"_dns", strings.Join(dns, "\n"))
		}
	}
	return v
}

// tunnelToForm fills a tunnel form with every setting; the PSK field
// stays empty.
func tunnelToForm(t config.Tunnel) url.Values {
	v := url.Values{}
	v.Set("name", t.Name)
	v.Set("peer_address", t.PeerAddress)
	if !t.LocalAddress.IsZero() {
		v.Set("local_address", t.LocalAddress.String())
	}
	v.Set("remote_networks", joinPrefixes(t.RemoteNetworks))
	v.Set("local_networks", joinPrefixes(t.LocalNetworks))
	v.Set("mode", string(t.Mode))
	if t.IfID != 0 {
		v.Set("if_id", strconv.FormatUint(uint64(t.IfID), 10))
	}
	v.Set("routes", joinPrefixes(t.Routes))
	ikeToForm(v, t.IKESettings)
	return v
}

func joinPrefixes(ps []config.Prefix) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, "\n")
}

// generatePSK answers a fresh strong key for the generate button's
// script. It is shown once; the box does not remember it until the form
// is submitted.
func (s *Server) generatePSK(w http.ResponseWriter, r *http.Request, sess *session) {
	writeJSON(w, http.StatusOK, map[string]string{"psk": config.GeneratePSK().Reveal()})
}

func (s *Server) applyPage(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Applying the configuration", "")
	evs := s.box.Progress(0)
	p.Data = evs
	s.render(w, r, "apply", p)
}

func (s *Server) progress(w http.ResponseWriter, r *http.Request, sess *session) {
	after := 0
	if n, err := parseInt(r.URL.Query().Get("after")); err == nil {
		after = n
	}
	evs := s.box.Progress(after)
	if evs == nil {
		evs = []ApplyEvent{}
	}
	writeJSON(w, http.StatusOK, evs)
}
