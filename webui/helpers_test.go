package webui

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// cheapHash makes argon2id hashes fast enough for tests; adminpw.Verify
// reads the parameters from the string.
func cheapHash(pw string) (string, error) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", b.EncodeToString(salt), b.EncodeToString(key)), nil
}

type harness struct {
	t    testing.TB
	logs *strings.Builder // everything the server logged
	box  *fakeBox
	srv  *Server
	ts   *httptest.Server
	c    *http.Client
	now  time.Time
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	box := newFakeBox()
	h := &harness{t: t, box: box, now: box.now, logs: &strings.Builder{}}
	logf := func(format string, args ...any) { fmt.Fprintf(h.logs, format+"\n", args...) }
	s, err := New(Options{Appliance: box, Version: "test", Now: func() time.Time { return h.now }, Hash: cheapHash, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = s
	h.ts = httptest.NewTLSServer(s.Handler())
	t.Cleanup(h.ts.Close)
	h.c = h.client()
	return h
}

func (h *harness) client() *http.Client {
	c := *h.ts.Client() // a copy: Client() hands out one shared client
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	return &c
}

// do sends a request and returns status, final path and body.
func (h *harness) do(c *http.Client, method, path string, form url.Values, hdr map[string]string) (int, string, string) {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		if g, ok := form["generation"]; !ok && method == "POST" {
			// As a browser posts a page it just loaded: with the
			// generation that page showed. Tests of stale saves set it.
			form = cloneValues(form)
			form.Set("generation", strconv.Itoa(h.box.generation()))
		} else if ok && g == nil {
			form = cloneValues(form) // "generation": nil means send none
			form.Del("generation")
		}
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, h.ts.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(b)
}

func (h *harness) get(path string) (int, string, string) { return h.do(h.c, "GET", path, nil, nil) }

func (h *harness) post(path string, form url.Values) (int, string, string) {
	return h.do(h.c, "POST", path, form, nil)
}

var csrfRE = regexp.MustCompile(`<meta name="csrf" content="([^"]*)">`)

// csrf reads the session's token from a page.
func (h *harness) csrf() string {
	h.t.Helper()
	_, _, body := h.get("/apply")
	if m := csrfRE.FindStringSubmatch(body); m != nil && m[1] != "" {
		return m[1]
	}
	_, _, body = h.get("/setup")
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	h.t.Fatal("no csrf token on the page")
	return ""
}

// fieldErr returns the error text shown inside the field's wrapper
// <div class="f" id="f-NAME">, or "".
func fieldErr(body, name string) string {
	i := strings.Index(body, `id="f-`+name+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	end := strings.Index(rest[1:], `<div class="f"`)
	if end > 0 {
		rest = rest[:end+1]
	}
	var msgs []string
	for _, m := range regexp.MustCompile(`<p class="err">([^<]*)</p>`).FindAllStringSubmatch(rest, -1) {
		msgs = append(msgs, m[1])
	}
	return strings.Join(msgs, "; ")
}

const goodPSK = "Vq7-Rt2kLm9xPz4Wc8NbJ5sYh3"

func goodTunnel() url.Values {
	return url.Values{
		"name": {"site1"}, "peer_address": {"203.0.113.10"}, "psk": {goodPSK},
		"remote_networks": {"10.20.0.0/24\n10.21.0.0/24"}, "preset": {"fortigate"},
	}
}

// setup walks the wizard with good answers and returns the session's csrf.
func (h *harness) setup() string {
	h.t.Helper()
	if st, _, body := h.post("/setup", url.Values{"code": {"abcd-2345"}}); st != 200 || strings.Contains(body, `class="err"`) {
		h.t.Fatalf("setup code: %d %s", st, body)
	}
	tok := h.csrf()
	for _, s := range goodSetupSteps() {
		s.form.Set("csrf", tok)
		st, path, body := h.post("/setup/"+s.step, s.form)
		if st != 200 || strings.Contains(body, `class="err"`) {
			h.t.Fatalf("step %s: %d %s\n%s", s.step, st, path, body)
		}
	}
	return tok
}

// setupStep is one wizard step and a good form for it.
type setupStep struct {
	step string
	form url.Values
}

// goodSetupSteps are the wizard's steps in order, each with a form that passes.
func goodSetupSteps() []setupStep {
	return []setupStep{
		{"password", url.Values{"password": {"correct horse battery"}, "confirm": {"correct horse battery"}}},
		{"interfaces", url.Values{"wan_mode": {"dhcp"}, "lan_mode": {"dhcp"}}},
		{"tunnel", goodTunnel()},
		{"router", url.Values{}},
		{"review", url.Values{}},
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
