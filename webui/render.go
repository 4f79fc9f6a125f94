package webui

import (
	"encoding/json"
	"fmt"
	"github.com/tunneler/tunneler/appliance/control"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/liveness"
)

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
	// diagf feeds the Diagnostics page's tunnel choice: the page and the
	// action whose form it is in.
	"espSilent": func() string { return liveness.SilentMessage },
	"diagf":     func(p *page, action string) map[string]any { return map[string]any{"P": p, "A": action} },
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

// addErrs adds the problems of a form's fields, by field name.
func (p *page) addErrs(byField map[string]string) {
	for k, msg := range byField {
		p.addErr(k, msg)
	}
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

// mapErrors puts config field errors next to form fields: a path under
// prefix ("tunnels[0]") loses the prefix and any list index, which becomes
// "line N:" (textareas hold lists one per line); names maps the rest
// of a path to a form field. The longest prefix a path has wins
// ("sites[0].remotes[1]" over "sites[0]"). Errors with no field on the
// page are general.
func mapErrors(p *page, errs config.FieldErrors, prefixes map[string]string, fields map[string]bool) {
	for _, fe := range errs {
		placed := false
		best := ""
		for pre := range prefixes {
			if strings.HasPrefix(fe.Field, pre+".") && len(pre) > len(best) {
				best = pre
			}
		}
		if best != "" {
			pre, formPrefix := best, prefixes[best]
			rest, _ := strings.CutPrefix(fe.Field, pre+".")
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
		}
		if !placed {
			p.addGeneral(fe.Field, fe.Message)
		}
	}
}
