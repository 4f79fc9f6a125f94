package webui

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes() {
	m := http.NewServeMux()
	s.mux = m
	m.Handle("GET /static/", s.static)
	m.HandleFunc("GET /metrics", s.prometheus)
	m.HandleFunc("GET /{$}", s.authed(s.overview))

	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.authed(s.logout))

	m.HandleFunc("GET /setup", s.setupGet)
	m.HandleFunc("POST /setup", s.setupCode)
	m.HandleFunc("GET /setup/{step}", s.setupOnly(s.setupStepGet))
	m.HandleFunc("POST /setup/{step}", s.setupOnly(s.setupStepPost))
	m.HandleFunc("POST /psk", s.anySession(s.generatePSK))
	m.HandleFunc("GET /progress", s.anySession(s.progress))
	m.HandleFunc("GET /apply", s.anySession(s.applyPage))

	m.HandleFunc("GET /overview", s.authed(s.overview))
	m.HandleFunc("GET /ipsec", s.authed(s.ipsec))
	m.HandleFunc("GET /logs", s.authed(s.logs))
	m.HandleFunc("GET /charts", s.authed(s.charts))

	m.HandleFunc("GET /tunnels", s.authed(s.tunnels))
	m.HandleFunc("GET /tunnels/new", s.authed(s.tunnelEdit))
	m.HandleFunc("POST /tunnels/new", s.authed(s.tunnelSave))
	m.HandleFunc("GET /tunnels/{name}/edit", s.authed(s.tunnelEdit))
	m.HandleFunc("POST /tunnels/{name}/edit", s.authed(s.tunnelSave))
	m.HandleFunc("GET /tunnels/{name}/probe", s.authed(s.probePage))
	m.HandleFunc("POST /tunnels/{name}/probe", s.authed(s.probeStart))
	m.HandleFunc("POST /tunnels/{name}/probe/apply", s.authed(s.probeApply))
	m.HandleFunc("GET /tunnels/{name}/{action}", s.authed(s.tunnelConfirm))
	m.HandleFunc("POST /tunnels/{name}/{action}", s.authed(s.tunnelAction))
	m.HandleFunc("GET /tunnels/{name}/remote/{vendor}", s.authed(s.remoteConfig))

	m.HandleFunc("GET /settings", s.authed(s.settings))
	m.HandleFunc("POST /settings/network", s.authed(s.settingsNetwork))
	m.HandleFunc("POST /settings/system", s.authed(s.settingsSystem))
	m.HandleFunc("POST /settings/password", s.authed(s.settingsPassword))
	m.HandleFunc("GET /settings/backup", s.authed(s.backup))
	m.HandleFunc("POST /settings/backup", s.authed(s.encryptedBackup))
	m.HandleFunc("POST /settings/restore", s.authed(s.restore))
	m.HandleFunc("GET /settings/history", s.authed(s.history))
	m.HandleFunc("GET /settings/history/{seq}/restore", s.authed(s.historyConfirm))
	m.HandleFunc("POST /settings/history/{seq}/restore", s.authed(s.historyRestore))
	m.HandleFunc("GET /setup/restore", s.setupOnly(s.setupRestoreGet))
	m.HandleFunc("POST /setup/restore", s.setupOnly(s.setupRestore))
	m.HandleFunc("GET /settings/{action}", s.authed(s.systemConfirm))
	m.HandleFunc("POST /settings/{action}", s.authed(s.systemAction))
	m.HandleFunc("POST /charon/restart", s.authed(s.restartCharon))
	m.HandleFunc("GET /sites", s.authed(s.sitesEdit))
	m.HandleFunc("POST /sites", s.authed(s.sitesSave))
	m.HandleFunc("GET /sites/{site}/remotes/{n}/restart", s.authed(s.restartRemoteConfirm))
	m.HandleFunc("POST /sites/{site}/remotes/{n}/restart", s.authed(s.restartRemote))

	m.HandleFunc("POST /trial/{action}", s.authed(s.trialAction))
	m.HandleFunc("GET /router", s.authed(s.routerPage))
	m.HandleFunc("POST /router/enroll", s.authed(s.routerEnroll))
	m.HandleFunc("POST /router/unenroll", s.authed(s.routerUnenroll))

	m.HandleFunc("GET /firmware", s.authed(s.firmwarePage))
	m.HandleFunc("PUT /firmware", s.authed(s.firmwareUpload))
	m.HandleFunc("GET /firmware/boot", s.authed(s.firmwareBootConfirm))
	m.HandleFunc("POST /firmware/boot", s.authed(s.firmwareBoot))
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
	if !sameOrigin(r) {
		s.fail(w, r, http.StatusForbidden, "cross-site login refused")
		return
	}
	if s.limited(w, r) {
		return
	}
	f := decodeLoginForm(r.PostForm)
	if !adminVerify(f.Password, s.box.AdminHash()) {
		s.limit.fail(sourceKey(r), s.now())
		s.logf("webui: failed login from %s", sourceKey(r))
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
