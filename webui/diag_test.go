package webui

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/diag"
)

// fakeDiag validates with the real planner (appliance/diag against the
// fake box's config) and runs a fake job instead of the planned one.
type fakeDiag struct {
	runner *diag.Runner
	job    func(r diag.Request) diag.Job
}

func (f *fakeDiag) Plan(r diag.Request) (diag.Job, diag.Problems) {
	if _, ps := f.runner.Plan(r); len(ps) > 0 {
		return nil, ps
	}
	return f.job(r), nil
}

// fakeJob writes its lines; after the first it waits for gate (so a test
// sees the first line arrive before the job ends), then its file.
type fakeJob struct {
	lines []string
	gate  chan struct{}
	file  []byte
	err   error
}

func (j *fakeJob) Run(ctx context.Context, out diag.Output) error {
	for i, l := range j.lines {
		fmt.Fprintln(out.Lines, l)
		if i == 0 && j.gate != nil {
			select {
			case <-j.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if out.File != nil {
		out.File.Write(j.file)
		out.Progress(3, len(j.file))
	}
	return j.err
}

func diagHarness(t *testing.T, job func(diag.Request) diag.Job) (*harness, string) {
	h := newHarness(t)
	tok := h.setup()
	h.srv.opt.Diag = &fakeDiag{runner: &diag.Runner{
		Config: func() config.Config { c, _, _ := h.box.Config(); return c },
		WAN:    func() []string { return []string{"eth0"} },
	}, job: job}
	return h, tok
}

// stream posts to the API and returns the response, its body unread.
func (h *harness) stream(path, tok string, form url.Values) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if tok != "" {
		req.Header.Set("X-CSRF-Token", tok)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readEvent(t *testing.T, r *bufio.Reader) map[string]any {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read event: %v (got %q)", err, l)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(l), &ev); err != nil {
		t.Fatalf("event %q: %v", l, err)
	}
	return ev
}

func TestDiagnosticsStreamAsTheyRun(t *testing.T) {
	gate := make(chan struct{})
	var got diag.Request
	h, tok := diagHarness(t, func(r diag.Request) diag.Job {
		got = r
		return &fakeJob{lines: []string{"PING 10.20.0.5 from 100.64.0.1", "reply from 10.20.0.5: seq=1"}, gate: gate}
	})
	resp := h.stream("/api/diagnostics/ping", tok, url.Values{"tunnel": {"site1"}, "target": {"10.20.0.5"}, "count": {"2"}})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("ping: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	// The first line arrives while the job still runs (it waits on gate).
	if ev := readEvent(t, r); ev["line"] != "PING 10.20.0.5 from 100.64.0.1" {
		t.Errorf("first event %v", ev)
	}
	close(gate)
	if ev := readEvent(t, r); ev["line"] != "reply from 10.20.0.5: seq=1" {
		t.Errorf("second event %v", ev)
	}
	if ev := readEvent(t, r); ev["done"] != true || ev["ok"] != true {
		t.Errorf("last event %v", ev)
	}
	if got != (diag.Request{Action: diag.ActPing, Tunnel: "site1", Target: "10.20.0.5", Count: 2}) {
		t.Errorf("request %+v", got)
	}

	// Without script: the form posts, and the output is plain text.
	st, _, body := h.post("/diagnostics/tcp", url.Values{"csrf": {tok}, "tunnel": {"site1"}, "target": {"10.21.0.9"}, "port": {"22"}})
	if st != 200 || !strings.Contains(body, "PING 10.20.0.5 from 100.64.0.1\nreply from 10.20.0.5: seq=1\ndone\n") {
		t.Errorf("plain text: %d %q", st, body)
	}
}

func TestDiagnosticsRefuseBadArguments(t *testing.T) {
	ran := false
	h, tok := diagHarness(t, func(diag.Request) diag.Job { ran = true; return &fakeJob{} })
	resp := h.stream("/api/diagnostics/ping", tok, url.Values{"tunnel": {"site1"}, "target": {"192.0.2.1"}, "count": {"x"}})
	var ans struct{ Errors []apiError }
	json.NewDecoder(resp.Body).Decode(&ans)
	want := []apiError{{"target", "192.0.2.1 is not behind tunnel site1 (its remote networks: 10.20.0.0/24, 10.21.0.0/24)"}, {"count", "is -1; use 1 to 20"}}
	if resp.StatusCode != 422 || fmt.Sprint(ans.Errors) != fmt.Sprint(want) {
		t.Errorf("bad ping: %d %v, want 422 %v", resp.StatusCode, ans.Errors, want)
	}
	// The page shows the problem under the field of the form that was sent.
	st, _, body := h.post("/diagnostics/dns", url.Values{"csrf": {tok}, "name": {"<script>"}})
	if st != 422 || !strings.Contains(body, `<p class="err">&#34;&lt;script&gt;&#34; is not a host name</p>`) {
		t.Errorf("bad lookup: %d\n%s", st, body)
	}
	if ran {
		t.Error("a job ran for bad arguments")
	}
	// Login and the CSRF token are required, as for every change.
	if resp := h.stream("/api/diagnostics/ping", "", url.Values{"tunnel": {"site1"}, "target": {"10.20.0.5"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the CSRF token: %s", resp.Status)
	}
	h.c = h.client()
	if resp := h.stream("/api/diagnostics/ping", tok, url.Values{"tunnel": {"site1"}, "target": {"10.20.0.5"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a session: %s", resp.Status)
	}
	if st, _, _ := h.get("/api/diagnostics/capture.pcap"); st != http.StatusUnauthorized {
		t.Errorf("capture download without a session: %d", st)
	}
}

func TestDiagnosticsCapture(t *testing.T) {
	gate := make(chan struct{})
	pcap := []byte("\xd4\xc3\xb2\xa1 a pcap file")
	h, tok := diagHarness(t, func(diag.Request) diag.Job {
		return &fakeJob{lines: []string{"capturing", "captured 3 packets"}, gate: gate, file: pcap}
	})
	if st, _, _ := h.get("/api/diagnostics/capture.pcap"); st != http.StatusNotFound {
		t.Errorf("download before any capture: %d", st)
	}
	form := url.Values{"tunnel": {"site1"}, "preset": {"inside"}, "seconds": {"5"}}
	resp := h.stream("/api/diagnostics/capture", tok, form)
	r := bufio.NewReader(resp.Body)
	readEvent(t, r)
	// One capture at a time.
	if again := h.stream("/api/diagnostics/capture", tok, form); again.StatusCode != http.StatusConflict {
		t.Errorf("a second capture while one runs: %s", again.Status)
	}
	close(gate)
	readEvent(t, r)
	if ev := readEvent(t, r); ev["packets"] != 3.0 || ev["bytes"] != float64(len(pcap)) {
		t.Errorf("progress event %v", ev)
	}
	ev := readEvent(t, r)
	if ev["done"] != true || ev["download"] != "/api/diagnostics/capture.pcap" || !strings.HasPrefix(ev["file"].(string), "tunneler-site1-inside-") {
		t.Errorf("last event %v", ev)
	}
	req, _ := http.NewRequest("GET", h.ts.URL+"/api/diagnostics/capture.pcap", nil)
	dl, err := h.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	b, _ := io.ReadAll(dl.Body)
	if string(b) != string(pcap) || dl.Header.Get("Content-Type") != "application/vnd.tcpdump.pcap" ||
		!strings.Contains(dl.Header.Get("Content-Disposition"), `attachment; filename="tunneler-site1-inside-`) {
		t.Errorf("download: %q %v", b, dl.Header)
	}
	// The page offers it.
	if _, _, page := h.get("/diagnostics"); !strings.Contains(page, `id="capture-download" class="button secondary" href="/diagnostics/capture.pcap">`) {
		t.Errorf("the page does not offer the capture")
	}
}

func TestDiagnosticsPage(t *testing.T) {
	h := newHarness(t)
	h.setup()
	if _, _, body := h.get("/diagnostics"); !strings.Contains(body, "Diagnostics are not available") {
		t.Error("without Options.Diag the page does not say diagnostics are unavailable")
	}
	h.srv.opt.Diag = &fakeDiag{runner: &diag.Runner{}}
	_, _, body := h.get("/diagnostics")
	for _, want := range []string{`action="/diagnostics/ping"`, `action="/diagnostics/traceroute"`, `action="/diagnostics/tcp"`,
		`action="/diagnostics/dns"`, `action="/diagnostics/capture"`, `<option>site1</option>`, `id="diag-out"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
