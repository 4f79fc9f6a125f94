package webui

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// routes registers every route. They go through route, which keeps each
// pattern in s.patterns: the tests walk that list to prove every route
// that changes state refuses a request without the CSRF token, so a route
// added here cannot be forgotten there.
func (s *Server) routes() {
	m := http.NewServeMux()
	s.mux = m
	route := func(pattern string, h http.HandlerFunc) {
		s.patterns = append(s.patterns, pattern)
		m.Handle(pattern, h)
	}
	// editPages registers a list's pages BASE/new and BASE/{name}/edit
	// (editList): GET shows the form, POST saves it.
	editPages := func(l editList, show, save editHandler) {
		for _, path := range []string{l.base + "/new", l.base + "/{" + l.path + "}/edit"} {
			route("GET "+path, s.authed(s.editing(l, show)))
			route("POST "+path, s.authed(s.editing(l, save)))
		}
	}
	route("GET /static/", s.static.ServeHTTP)
	route("GET /metrics", s.prometheus)
	route("GET /{$}", s.authed(s.overview))

	route("GET /login", s.loginPage)
	route("POST /login", s.login)
	route("POST /logout", s.authed(s.logout))

	route("GET /setup", s.setupGet)
	route("POST /setup", s.setupCode)
	route("GET /setup/{step}", s.setupOnly(s.setupStepGet))
	route("POST /setup/{step}", s.setupOnly(s.setupStepPost))
	route("POST /psk", s.anySession(s.generatePSK))
	route("GET /progress", s.anySession(s.progress))
	route("GET /apply", s.anySession(s.applyPage))

	route("GET /overview", s.authed(s.overview))
	route("GET /ipsec", s.authed(s.ipsec))
	route("GET /logs", s.authed(s.logs))
	route("GET /charts", s.authed(s.charts))

	route("GET /tunnels", s.authed(s.tunnels))
	editPages(tunnelList, s.tunnelEdit, s.tunnelSave)
	editPages(profileList, s.profileEdit, s.profileSave)
	editPages(siteList, s.siteEdit, s.siteSave)
	route("GET /tunnels/{name}/probe", s.authed(s.probePage))
	route("POST /tunnels/{name}/probe", s.authed(s.probeStart))
	route("POST /tunnels/{name}/probe/apply", s.authed(s.probeApply))
	route("GET /tunnels/{name}/{action}", s.authed(s.tunnelConfirm))
	route("POST /tunnels/{name}/{action}", s.authed(s.tunnelAction))
	route("GET /tunnels/{name}/remote/{vendor}", s.authed(s.remoteConfig))

	route("GET /certificates", s.authed(s.certsPage))
	route("POST /certificates/make", s.authed(s.certsMake))
	route("GET /certificates/request.csr", s.authed(s.certsRequest))
	route("POST /certificates/import", s.authed(s.certsImport))
	route("POST /certificates/remove", s.authed(s.certsRemove))

	route("GET /settings", s.authed(s.settings))
	route("POST /settings/network", s.authed(s.settingsNetwork))
	route("POST /settings/system", s.authed(s.settingsSystem))
	route("POST /settings/password", s.authed(s.settingsPassword))
	route("POST /settings/certificate", s.authed(s.certificate))
	route("GET /settings/backup", s.authed(s.backup))
	route("POST /settings/backup", s.authed(s.encryptedBackup))
	route("POST /settings/restore", s.authed(s.restore))
	route("GET /settings/history", s.authed(s.history))
	route("GET /settings/history/{seq}/restore", s.authed(s.historyConfirm))
	route("POST /settings/history/{seq}/restore", s.authed(s.historyRestore))
	route("GET /setup/restore", s.setupOnly(s.setupRestoreGet))
	route("POST /setup/restore", s.setupOnly(s.setupRestore))
	route("GET /settings/{action}", s.authed(s.systemConfirm))
	route("POST /settings/{action}", s.authed(s.systemAction))
	route("POST /charon/restart", s.authed(s.restartCharon))
	route("GET /sites", s.authed(s.sitesList))
	route("GET /sites/json", s.authed(s.sitesEdit))
	route("POST /sites", s.authed(s.sitesSave))
	route("POST /sites/json", s.authed(s.sitesSave))
	route("GET /import", s.authed(s.importPage))
	route("POST /import", s.authed(s.importFile))
	route("GET /export", s.authed(s.export))
	route("GET /sites/{site}/remotes/{n}/restart", s.authed(s.restartRemoteConfirm))
	route("POST /sites/{site}/remotes/{n}/restart", s.authed(s.restartRemote))

	route("POST /trial/{action}", s.authed(s.trialAction))
	route("GET /router", s.authed(s.routerPage))
	route("POST /router/enroll", s.authed(s.routerEnroll))
	route("POST /router/unenroll", s.authed(s.routerUnenroll))

	route("GET /firmware", s.authed(s.firmwarePage))
	route("PUT /firmware", s.authed(s.firmwareUpload))
	route("GET /firmware/boot", s.authed(s.firmwareBootConfirm))
	route("POST /firmware/boot", s.authed(s.firmwareBoot))

	route("GET /diagnostics", s.authed(s.diagnosticsPage))
	route("GET /diagnostics/capture.pcap", s.authed(s.diagCapture))
	route("POST /diagnostics/{action}", s.authed(s.diagRun))
}

// inSetup reports whether the box has no admin yet.
func (s *Server) inSetup() bool { return s.box.AdminHash() == "" }

type handler func(w http.ResponseWriter, r *http.Request, sess *session)

// authed requires a logged-in session, and a CSRF token on every POST.
// In setup mode everything leads to the wizard.
func (s *Server) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.inSetup() {
			s.toSetup(w, r)
			return
		}
		sess := s.sessions.get(r, s.now())
		if sess == nil || sess.setup {
			if wantJSON(r) {
				s.fail(w, r, http.StatusUnauthorized, "log in first (POST /api/login)")
				return
			}
			next := ""
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				next = "?next=" + r.URL.Path
			}
			http.Redirect(w, r, "/login"+next, http.StatusSeeOther)
			return
		}
		s.serveChecked(w, r, sess, h)
	}
}

// serveChecked runs h for sess, unless r changes state without the
// session's CSRF token.
func (s *Server) serveChecked(w http.ResponseWriter, r *http.Request, sess *session, h handler) {
	if r.Method != http.MethodGet && !csrfOK(r, sess) {
		s.fail(w, r, http.StatusForbidden, "the form had expired or did not come from this box (CSRF check failed); reload the page and try again")
		return
	}
	h(w, r, sess)
}

// setupOnly requires a setup session (opened with the setup code).
func (s *Server) setupOnly(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.inSetup() {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		sess := s.sessions.get(r, s.now())
		if sess == nil || !sess.setup {
			s.toSetup(w, r)
			return
		}
		s.serveChecked(w, r, sess, h)
	}
}

// anySession accepts a setup session or a login (the PSK generator and
// apply progress serve both).
func (s *Server) anySession(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessions.get(r, s.now())
		if sess == nil {
			if s.inSetup() {
				s.toSetup(w, r)
			} else {
				s.fail(w, r, http.StatusUnauthorized, "log in first")
			}
			return
		}
		s.serveChecked(w, r, sess, h)
	}
}

func (s *Server) toSetup(w http.ResponseWriter, r *http.Request) {
	if wantJSON(r) {
		s.fail(w, r, http.StatusUnauthorized, "the box is in setup mode: POST /api/setup with code=<the setup code on the console>")
		return
	}
	http.Redirect(w, r, "/setup", http.StatusSeeOther)
}

// sameOrigin rejects cross-site POSTs that have no session yet (login,
// setup code): browsers send Origin on POST.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "" {
		return o == ""
	}
	return strings.TrimPrefix(o, "https://") == r.Host
}

// credentialRefused guards a POST that carries a credential (a password,
// the setup code): a cross-site one is answered 403 ("cross-site what
// refused"), one from a source that guessed wrong too often 429. It
// reports whether it answered.
func (s *Server) credentialRefused(w http.ResponseWriter, r *http.Request, what string) bool {
	if !sameOrigin(r) {
		s.fail(w, r, http.StatusForbidden, "cross-site "+what+" refused")
		return true
	}
	return s.limited(w, r)
}

// wrongCredential counts a wrong credential against r's source and logs
// it ("failed login from 192.0.2.7").
func (s *Server) wrongCredential(r *http.Request, what string) {
	s.limit.fail(sourceKey(r), s.now())
	s.logf("webui: %s from %s", what, sourceKey(r))
}

// limited answers 429 if the source must wait; it reports whether it did.
func (s *Server) limited(w http.ResponseWriter, r *http.Request) bool {
	d := s.limit.wait(sourceKey(r), s.now())
	if d <= 0 {
		return false
	}
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", itoa(secs))
	s.fail(w, r, http.StatusTooManyRequests, "too many wrong attempts from your address; wait "+humanDuration(time.Duration(secs)*time.Second)+" and try again")
	return true
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.inSetup() {
		s.toSetup(w, r)
		return
	}
	s.render(w, r, "login", &page{Title: "Log in", Form: r.URL.Query()})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.inSetup() {
		s.toSetup(w, r)
		return
	}
	if s.credentialRefused(w, r, "login") {
		return
	}
	f := decodeLoginForm(r.PostForm)
	if !adminVerify(f.Password, s.box.AdminHash()) {
		s.wrongCredential(r, "failed login")
		p := &page{Title: "Log in"}
		p.addErr("password", "is wrong")
		s.render(w, r, "login", p)
		return
	}
	s.limit.ok(sourceKey(r))
	sess := s.sessions.create(s.now(), false)
	setSessionCookie(w, sess)
	s.logf("webui: login from %s", sourceKey(r))
	done(w, r, f.Next, map[string]any{"csrf": sess.csrf})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	s.sessions.drop(sess.token)
	clearSessionCookie(w)
	done(w, r, "/login", nil)
}

// base returns a page with the session's navigation state.
func (s *Server) base(sess *session, title, active string) *page {
	p := &page{Title: title, Active: active}
	if sess != nil {
		p.CSRF = sess.csrf
		p.LoggedIn = !sess.setup
		p.Setup = sess.setup
	}
	c, gen, ok := s.box.Config()
	if ok {
		p.Host = c.System.Hostname
	}
	p.Gen = gen // the generation this page's forms are based on
	if p.LoggedIn {
		p.Trial = s.box.Trial()
	}
	return p
}

func itoa(i int) string { return strconv.Itoa(i) }
