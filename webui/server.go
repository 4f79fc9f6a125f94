// Package webui is the box's local web UI and JSON API: first-boot setup,
// login, status pages, logs, metrics, tunnel actions and settings. It
// talks to the rest of the appliance only through Box.
//
// JSON: every page and form answers JSON when the path starts with /api/
// (/api/overview is /overview) or the request's Accept header names
// application/json. GET answers the page's data; POST takes the same
// form fields (application/x-www-form-urlencoded or multipart) and the
// session's CSRF token in the X-CSRF-Token header, and answers
// {"ok":true,...}, or 422 with {"errors":[{"field":..,"message":..}]}
// where field is the form field (or the config path when no form field
// matches). Log in with POST /api/login (password=...): the answer
// carries the CSRF token, the cookie carries the session.
//
// Routes (each also under /api/):
//
//	GET  /setup, POST /setup (code)          first boot: the setup code gate
//	GET|POST /setup/{password,interfaces,tunnel,router,review}
//	GET  /apply, GET /progress?after=N       apply progress (ApplyEvent list)
//	POST /psk                                a generated strong PSK (JSON)
//	GET|POST /login, POST /logout
//	GET  /overview, /ipsec, /logs?kind=&window=&since=&until=, /charts?window=&tunnel=
//	GET  /tunnels, GET|POST /tunnels/new, /tunnels/{name}/edit
//	GET|POST /tunnels/{name}/{reconnect,delete}   (POST needs confirm=yes)
//	GET  /tunnels/{name}/remote, /tunnels/{name}/remote/{strongswan,libreswan,cisco-ios,fortigate,paloalto,pfsense}
//	GET|POST /sites   (profiles and sites as one JSON document, field sites_json)
//	GET|POST /sites/{site}/remotes/{n}/restart   (POST needs confirm=yes)
//	GET  /settings, POST /settings/{network,system,password}, GET /settings/backup (no secrets)
//	POST /settings/backup    encrypted backup (backup_passphrase, backup_passphrase2)
//	POST /settings/restore   file, passphrase, confirm=yes (mapping_confirm=yes for other NICs); on trial by default
//	GET  /settings/history, GET|POST /settings/history/{n}/restore   (POST needs confirm=yes; on trial by default)
//	GET|POST /setup/restore  a fresh box from an encrypted backup (file, passphrase, mapping_confirm)
//	GET|POST /settings/{reboot,factory-reset,restart-charon}   (POST needs confirm=yes)
//	GET  /metrics                            Prometheus text format, no login
//
// Secrets: a PSK is never written into a page, an API answer or a log once
// entered. Edit forms leave the PSK field empty with "keep the stored key"
// as placeholder; an empty field keeps the key. A key the box generates is
// shown once, in the answer to the generate button, so the operator can
// copy it to the remote device. The settings download and remote-device
// configurations carry a placeholder instead of the key; only the
// encrypted backup holds keys, sealed with the operator's passphrase.
package webui

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
	"github.com/tunneler/tunneler/webui/metrics"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a Server.
type Options struct {
	Box Appliance
	// MetricsDir is where the hourly metrics summary is kept (on /perm);
	// "" keeps it in memory only.
	MetricsDir string
	// Version is the firmware version shown in the footer.
	Version string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Hash hashes a new admin password; nil means adminpw.Hash. Tests
	// pass a cheap one.
	Hash func(string) (string, error)
	// Logf logs server events (never secrets); nil means log.Printf.
	Logf func(format string, args ...any)
}

// Server is the web UI. Create it with New, serve Handler (or use Serve),
// and call Run to sample metrics.
type Server struct {
	box      Appliance
	opt      Options
	now      func() time.Time
	hash     func(string) (string, error)
	logf     func(string, ...any)
	sessions sessions
	limit    limiter
	rec      *metrics.Recorder
	pages    map[string]*template.Template
	mux      *http.ServeMux
	static   http.Handler
	mu       sync.Mutex // guards lastSample
	// routerLast is the last enrollment's steps, for the Router page.
	routerLast routerLast
}

// New returns a Server for o.
func New(o Options) (*Server, error) {
	if o.Box == nil {
		return nil, errors.New("webui: Options.Box is nil")
	}
	s := &Server{box: o.Box, opt: o, now: o.Now, hash: o.Hash, logf: o.Logf, rec: metrics.New(0)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.hash == nil {
		s.hash = adminpw.Hash
	}
	if s.logf == nil {
		s.logf = log.Printf
	}
	if o.MetricsDir != "" {
		if err := s.rec.Load(o.MetricsDir); err != nil {
			s.logf("webui: %v (starting with an empty summary)", err)
		}
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	sub, _ := fs.Sub(staticFS, "static")
	s.static = http.StripPrefix("/static/", staticCache(http.FileServerFS(sub)))
	s.routes()
	return s, nil
}

func staticCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		h.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"bytes":  humanBytes,
	"clock":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"dur":    humanDuration,
	"join":   strings.Join,
	"inc":    func(i int) int { return i + 1 },
	"pct":    func(a, b uint64) string { return pct(a, b) },
	"safe":   func(s string) template.HTML { return template.HTML(s) }, // only for server-built SVG
	"has":    func(list []string, s string) bool { return containsStr(list, s) },
	"title":  func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
	"kinds":  func() []string { return logKinds },
	"wins":   func() []string { return []string{"15m", "1h", "6h", "24h", "all"} },
	"steps":  func() []string { return setupSteps },
	"lt":     func(a, b int) bool { return a < b },
	"eq2":    func(a, b string) bool { return a == b },
	"checkd": func(b bool) template.HTMLAttr { return checkedAttr(b) },
	"ifc":    func(p *page, k, r string) ifaceView { return ifaceView{P: p, K: k, R: r} },
	// trialf fills the "trialfield" form part: on says whether the box
	// is ticked when the page opens.
	"trialf": func(p *page, on bool) map[string]any { return map[string]any{"Page": p, "On": on} },
}

// ifaceView feeds the "iface" template: the page, the form prefix and the legend.
type ifaceView struct {
	P    *page
	K, R string
}

func checkedAttr(b bool) template.HTMLAttr {
	if b {
		return "checked"
	}
	return ""
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) parseTemplates() error {
	s.pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", n)
		if err != nil {
			return fmt.Errorf("parse template %s: %w", n, err)
		}
		s.pages[base] = t
	}
	return nil
}

// page is what every template gets.
type page struct {
	Title    string
	Active   string
	CSRF     string
	LoggedIn bool
	Setup    bool
	Step     string
	Version  string
	Host     string
	Errors   map[string][]string // by form field
	General  []string            // problems with no field on this page
	Flash    string
	Form     url.Values // what the operator typed, to fill the form again (never secrets)
	Data     any
	Now      time.Time // the server's clock, for "5m ago"
	// Gen is the generation of the settings the page shows: its forms
	// send it back, and GET answers it as the ETag.
	Gen int
	// Trial is the change on trial, for the banner on every page.
	Trial    *control.TrialStatus
	fieldErr []apiError
}

// Ago says how long ago (or how far ahead) t is, by the server's clock.
func (p *page) Ago(t time.Time) string { return ago(p.Now, t) }

// Val returns a typed value to fill a form again. Secret fields are never
// filled: an operator retypes them, or leaves them empty to keep the key.
func (p *page) Val(k string) string {
	switch k {
	case "psk", "password", "confirm", "current", "code", "jwt":
		return ""
	}
	return p.Form.Get(k)
}

// Err returns the messages for a form field.
func (p *page) Err(k string) []string { return p.Errors[k] }

type apiError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// addErr records a problem with a form field.
func (p *page) addErr(fieldName, msg string) {
	if p.Errors == nil {
		p.Errors = map[string][]string{}
	}
	p.Errors[fieldName] = append(p.Errors[fieldName], msg)
	p.fieldErr = append(p.fieldErr, apiError{fieldName, msg})
}

func (p *page) addGeneral(path, msg string) {
	if path != "" {
		msg = path + ": " + msg
	}
	p.General = append(p.General, msg)
	p.fieldErr = append(p.fieldErr, apiError{path, msg})
}

func (p *page) hasErrors() bool { return len(p.fieldErr) > 0 }

type ctxKey int

const jsonKey ctxKey = 1

func wantJSON(r *http.Request) bool {
	if v, _ := r.Context().Value(jsonKey).(bool); v {
		return true
	}
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// render writes p as the named page, or its data (or errors) as JSON.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, p *page) {
	status := http.StatusOK
	if p.hasErrors() {
		status = http.StatusUnprocessableEntity
	}
	s.renderStatus(w, r, status, name, p)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if p.Gen > 0 && r.Method == http.MethodGet {
		w.Header().Set("ETag", etag(p.Gen))
	}
	if wantJSON(r) {
		if p.hasErrors() {
			writeJSON(w, status, map[string]any{"errors": p.fieldErr})
			return
		}
		writeJSON(w, status, p.Data)
		return
	}
	t := s.pages[name]
	if t == nil {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	p.Version = s.opt.Version
	p.Now = s.now()
	if p.Title == "" {
		p.Title = strings.ToUpper(name[:1]) + name[1:]
	}
	var buf strings.Builder
	if err := t.Execute(&buf, p); err != nil {
		s.logf("webui: render %s: %v", name, err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(buf.String()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(v)
}

// done answers a successful POST: a redirect for browsers (so reload does
// not post again), {"ok":true,...} for JSON.
func done(w http.ResponseWriter, r *http.Request, to string, extra map[string]any) {
	if wantJSON(r) {
		m := map[string]any{"ok": true}
		for k, v := range extra {
			m[k] = v
		}
		writeJSON(w, http.StatusOK, m)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fail answers with a plain message and status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantJSON(r) {
		writeJSON(w, status, map[string]any{"errors": []apiError{{"", msg}}})
		return
	}
	p := &page{Title: http.StatusText(status), General: []string{msg}}
	if sess := s.sessions.get(r, s.now()); sess != nil && !sess.setup {
		p.LoggedIn, p.CSRF = true, sess.csrf
	}
	s.renderStatus(w, r, status, "message", p)
}

// Handler returns the web UI's handler, for the HTTPS listeners.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Nothing from outside the box, no framing, no sniffing.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		// No HSTS: with a self-signed certificate that changes on factory
		// reset, HSTS would stop the operator from accepting the new one.
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/api/"); ok {
			r2 := r.Clone(context.WithValue(r.Context(), jsonKey, true))
			r2.URL.Path = "/" + rest
			r2.URL.RawPath = ""
			r = r2
		}
		if r.Method == http.MethodPost {
			limit := int64(maxFormBytes)
			if uploadPath(r.URL.Path) {
				limit = maxUploadBytes
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			var err error
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				err = r.ParseMultipartForm(maxFormBytes)
			} else {
				err = r.ParseForm()
			}
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, "the form could not be read: "+err.Error())
				return
			}
		}
		s.mux.ServeHTTP(w, r)
	})
}

// RedirectHandler answers plain HTTP with a redirect to the same host on
// HTTPS, so an operator who types the box's address lands on the UI.
func RedirectHandler(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if httpsPort != "" && httpsPort != "443" {
			host += ":" + httpsPort
		}
		u := url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
	})
}

// Serve listens on every address of httpsAddrs (the UI) and httpAddrs
// (redirect to HTTPS) until ctx ends. The caller picks addresses on the
// LAN/management side only. Serve also runs the metrics sampler.
func (s *Server) Serve(ctx context.Context, cert tls.Certificate, httpsAddrs, httpAddrs []string) error {
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var servers []*http.Server
	var listeners []net.Listener // closed here too: Shutdown misses one whose Serve has not begun
	errc := make(chan error, len(httpsAddrs)+len(httpAddrs))
	httpsPort := "443"
	for _, a := range httpsAddrs {
		if _, p, err := net.SplitHostPort(a); err == nil {
			httpsPort = p
		}
	}
	start := func(addr string, h http.Handler, tc *tls.Config) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("web UI listen %s: %w", addr, err)
		}
		srv := &http.Server{Handler: h, TLSConfig: tc, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: log.New(logWriter{s.logf}, "", 0)}
		servers = append(servers, srv)
		listeners = append(listeners, ln)
		go func() {
			var err error
			if tc != nil {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("web UI on %s: %w", addr, err)
			}
		}()
		return nil
	}
	// A listen that fails (an IPv6 address still in duplicate address
	// detection, say) must not leave the ones before it bound: the caller
	// retries with the same addresses, and would find them in use.
	var err error
	for _, a := range httpsAddrs {
		if err = start(a, s.Handler(), tlsConf); err != nil {
			break
		}
	}
	for _, a := range httpAddrs {
		if err != nil {
			break
		}
		err = start(a, RedirectHandler(httpsPort), nil)
	}
	if err == nil {
		go s.Run(ctx)
		select {
		case <-ctx.Done():
		case err = <-errc:
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(sctx)
	}
	for _, ln := range listeners {
		ln.Close()
	}
	return err
}

type logWriter struct{ logf func(string, ...any) }

func (l logWriter) Write(b []byte) (int, error) {
	l.logf("webui: %s", strings.TrimSpace(string(b)))
	return len(b), nil
}

// Run samples the Box's status every metrics.Interval into the metrics
// ring and saves the summary every 10 minutes, until ctx ends.
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(metrics.Interval)
	defer tick.Stop()
	lastSave := s.now()
	for {
		s.Sample()
		if s.opt.MetricsDir != "" && s.now().Sub(lastSave) >= 10*time.Minute {
			if err := s.rec.Save(s.opt.MetricsDir); err != nil {
				s.logf("webui: %v", err)
			}
			lastSave = s.now()
		}
		select {
		case <-ctx.Done():
			if s.opt.MetricsDir != "" {
				s.rec.Save(s.opt.MetricsDir)
			}
			return
		case <-tick.C:
		}
	}
}

// Sample takes one metrics sample from the Box now.
func (s *Server) Sample() {
	st := s.box.Status()
	smp := metrics.Sample{Time: st.Time, CPUPercent: st.System.CPUPercent, MemUsed: st.System.MemUsed, MemTotal: st.System.MemTotal}
	if smp.Time.IsZero() {
		smp.Time = s.now()
	}
	for _, t := range st.Tunnels {
		mt := metrics.Tunnel{Name: t.Name, BytesIn: t.BytesIn, BytesOut: t.BytesOut,
			IKEUp: t.IKE.State == "ESTABLISHED", Alive: !t.LastHeartbeat.IsZero() && smp.Time.Sub(t.LastHeartbeat) < 2*time.Minute}
		for _, c := range t.Children {
			mt.ChildIDs = append(mt.ChildIDs, c.SPIIn)
		}
		sort.Strings(mt.ChildIDs)
		smp.Tunnels = append(smp.Tunnels, mt)
	}
	s.rec.Add(smp)
}

// Recorder exposes the metrics ring (init may feed it samples itself).
func (s *Server) Recorder() *metrics.Recorder { return s.rec }

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if now.Before(t) {
		return "in " + humanDuration(t.Sub(now))
	}
	return humanDuration(now.Sub(t)) + " ago"
}

func pct(a, b uint64) string {
	if b == 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
}

// mapErrors puts config field errors next to form fields: a path under
// prefix ("tunnels[0]") loses the prefix and any list index, which becomes
// "line N:" (textareas hold lists one per line); names maps the rest
// of a path to a form field. Errors with no field on the page are general.
func mapErrors(p *page, errs config.FieldErrors, prefixes map[string]string, fields map[string]bool) {
	for _, fe := range errs {
		placed := false
		for pre, formPrefix := range prefixes {
			rest, ok := strings.CutPrefix(fe.Field, pre+".")
			if !ok {
				continue
			}
			msg := fe.Message
			if i := strings.IndexByte(rest, '['); i >= 0 {
				if n, err := strconv.Atoi(strings.TrimSuffix(rest[i+1:], "]")); err == nil {
					msg = fmt.Sprintf("line %d: %s", n+1, msg)
				}
				rest = rest[:i]
			}
			name := formPrefix + rest
			if fields[name] {
				p.addErr(name, msg)
				placed = true
			}
			break
		}
		if !placed {
			p.addGeneral(fe.Field, fe.Message)
		}
	}
}
