package webui

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// preSession are the state-changing routes taken before any session
// exists, so before there is a CSRF token: the login and the setup code.
// They refuse a request from another site by its Origin instead.
var preSession = []string{"POST /login", "POST /setup"}

// noRedirect is c that returns redirects instead of following them: a
// refusal must be seen as the handler answered it.
func noRedirect(c *http.Client) *http.Client {
	n := *c
	n.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &n
}

var wildcardRE = regexp.MustCompile(`\{[^}]+\}`)

// routePath fills a pattern's wildcards with a value no literal route
// has, so the request lands on this pattern and not a more specific one.
func routePath(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodPost, pattern // no method: all of them
	}
	path = strings.TrimSuffix(wildcardRE.ReplaceAllString(path, "zz9"), "/")
	if path == "" {
		path = "/"
	}
	return method, path
}

// csrfProblems sends pattern's request, without a CSRF token, from c
// (a session of one kind, or none) and says what is wrong with the
// answer: anything but a refusal (403), or a redirect to where the
// session may go (303, or 401 for JSON) is a problem. It also reports
// whether the route refused with 403, and checks the JSON form (/api/).
func csrfProblems(h *harness, c *http.Client, pattern string) (problems []string, refused bool) {
	method, path := routePath(pattern)
	for _, p := range []string{path, "/api" + path} {
		req, _ := http.NewRequest(method, h.ts.URL+p, strings.NewReader(url.Values{"confirm": {"yes"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if _, got := h.srv.mux.Handler(mustRequest(method, path)); got != pattern {
			return []string{fmt.Sprintf("%s %s lands on %q, not on its pattern", method, path, got)}, false
		}
		resp, err := noRedirect(c).Do(req)
		if err != nil {
			return []string{fmt.Sprintf("%s %s: %v", method, p, err)}, false
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusForbidden:
			refused = true
		case http.StatusSeeOther, http.StatusUnauthorized:
		default:
			problems = append(problems, fmt.Sprintf("%s %s without a CSRF token: %s", method, p, resp.Status))
		}
	}
	return problems, refused
}

func mustRequest(method, path string) *http.Request {
	r, err := http.NewRequest(method, "https://box"+path, nil)
	if err != nil {
		panic(err)
	}
	return r
}

// sessions returns a harness in setup mode with a setup session, and one
// set up with a login session; each with its client.
func csrfHarnesses(t *testing.T) (setupH *harness, setupC *http.Client, loggedH *harness, loggedC *http.Client) {
	setupH = newHarness(t)
	if st, _, _ := setupH.post("/setup", url.Values{"code": {"abcd-2345"}}); st != 200 {
		t.Fatalf("setup code: %d", st)
	}
	loggedH = newHarness(t)
	loggedH.setup()
	loggedC = loggedH.client()
	if st, _, _ := loggedH.do(loggedC, "POST", "/login", url.Values{"password": {"correct horse battery"}}, nil); st != 200 {
		t.Fatalf("login: %d", st)
	}
	return setupH, setupH.c, loggedH, loggedC
}

// TestEveryStateChangeNeedsCSRF walks every route the mux has (as routes
// registered them): each that is not a GET must refuse a request without
// the CSRF token, with the session it serves (setup or login) and with the
// other, and do nothing. The two routes taken before any session exists
// refuse a request from another site instead.
func TestEveryStateChangeNeedsCSRF(t *testing.T) {
	setupH, setupC, loggedH, loggedC := csrfHarnesses(t)
	if len(loggedH.srv.patterns) < 40 {
		t.Fatalf("only %d routes recorded: routes() no longer goes through route()", len(loggedH.srv.patterns))
	}
	saves, actions := loggedH.box.saveCount(), len(loggedH.box.actions)
	checked := 0
	for _, pattern := range loggedH.srv.patterns {
		method, path := routePath(pattern)
		if method == http.MethodGet || method == http.MethodHead {
			continue
		}
		checked++
		if slices.Contains(preSession, pattern) {
			refused := false
			for _, h := range []*harness{setupH, loggedH} {
				form := url.Values{"password": {"correct horse battery"}, "code": {"abcd-2345"}}
				st, _, _ := h.do(noRedirect(h.client()), method, path, form, map[string]string{"Origin": "https://evil.example"})
				refused = refused || st == http.StatusForbidden
				if st != http.StatusForbidden && st != http.StatusSeeOther {
					t.Errorf("%s from another site: %d, want 403", pattern, st)
				}
			}
			if !refused {
				t.Errorf("%s from another site was never refused with 403", pattern)
			}
			continue
		}
		var refused bool
		for _, mode := range []struct {
			h *harness
			c *http.Client
		}{{setupH, setupC}, {loggedH, loggedC}} {
			problems, r := csrfProblems(mode.h, mode.c, pattern)
			for _, p := range problems {
				t.Error(p)
			}
			refused = refused || r
		}
		if !refused {
			t.Errorf("%s: no session kind got a CSRF refusal (403): is it served at all?", pattern)
		}
	}
	if checked < 20 {
		t.Errorf("only %d state-changing routes checked", checked)
	}
	if loggedH.box.saveCount() != saves || len(loggedH.box.actions) != actions || setupH.box.saveCount() != 0 {
		t.Errorf("requests without a CSRF token had an effect: saves %d -> %d, actions %d -> %d",
			saves, loggedH.box.saveCount(), actions, len(loggedH.box.actions))
	}
}

// TestCSRFCrawlCatchesAnOpenRoute: a route that forgets the check is
// reported by the crawl.
func TestCSRFCrawlCatchesAnOpenRoute(t *testing.T) {
	_, _, h, c := csrfHarnesses(t)
	h.srv.mux.HandleFunc("POST /forgot/{x}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	problems, refused := csrfProblems(h, c, "POST /forgot/{x}")
	if len(problems) == 0 || refused {
		t.Errorf("an unchecked route passed the crawl: problems %v, refused %v", problems, refused)
	}
}

// TestCookiesSecureHttpOnlyStrict: every cookie the web UI sets, on the
// setup code, the wizard, a login and a logout, is Secure, HttpOnly and
// SameSite=Strict, for the whole site.
func TestCookiesSecureHttpOnlyStrict(t *testing.T) {
	h := newHarness(t)
	var cookies []*http.Cookie
	rec := &cookieRecorder{next: h.c.Transport, seen: &cookies}
	h.c.Transport = rec
	h.setup()
	c := h.client()
	c.Transport = rec
	h.do(c, "POST", "/login", url.Values{"password": {"correct horse battery"}}, nil)
	_, _, body := h.do(c, "GET", "/overview", nil, nil)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the overview after login")
	}
	h.do(c, "POST", "/logout", url.Values{"csrf": {m[1]}}, nil)
	if len(cookies) < 3 {
		t.Fatalf("saw %d cookies over setup, login and logout, want at least 3", len(cookies))
	}
	for _, ck := range cookies {
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
			t.Errorf("cookie %s: Secure %v, HttpOnly %v, SameSite %v, Path %q; want Secure, HttpOnly, Strict, /",
				ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite, ck.Path)
		}
	}
}

type cookieRecorder struct {
	next http.RoundTripper
	seen *[]*http.Cookie
}

func (r *cookieRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		*r.seen = append(*r.seen, resp.Cookies()...)
	}
	return resp, err
}
