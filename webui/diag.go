package webui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/tunneler/tunneler/appliance/diag"
)

// Diagnostics plans the Diagnostics page's actions (*diag.Runner on the
// box); nil: the page says diagnostics are not available.
type Diagnostics interface {
	Plan(r diag.Request) (diag.Job, diag.Problems)
}

// maxDiagRunning bounds the diagnostics running at once (captures: one).
const maxDiagRunning = 4

// diagState is what the diagnostics keep between requests: how many run,
// and the last capture's file, in RAM only (never on /perm).
type diagState struct {
	mu        sync.Mutex
	running   int
	capturing bool
	pcap      []byte
	pcapName  string
}

// diagView is the Diagnostics page's data (GET /api/diagnostics).
type diagView struct {
	Available bool          `json:"available"`
	Tunnels   []string      `json:"tunnels"`
	Actions   []diag.Action `json:"actions"`
	Capture   string        `json:"capture,omitempty"` // the kept capture's download path
	Action    string        `json:"-"`                 // the form that failed, to show its errors
}

func (s *Server) diagnosticsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Diagnostics", "diagnostics")
	p.Data = s.diagView("")
	s.render(w, r, "diagnostics", p)
}

func (s *Server) diagView(action string) diagView {
	v := diagView{Available: s.opt.Diag != nil, Tunnels: []string{}, Actions: diag.Actions, Action: action}
	for _, t := range s.box.Status().Tunnels {
		v.Tunnels = append(v.Tunnels, t.Name)
	}
	s.diag.mu.Lock()
	if s.diag.pcap != nil {
		v.Capture = "/diagnostics/capture.pcap"
	}
	s.diag.mu.Unlock()
	return v
}

// decodeDiagForm reads one action's form (fields tunnel, target, port,
// count, name, type, preset, seconds, max_kb). Numbers that do not parse
// become -1, so Plan reports them next to their field.
func decodeDiagForm(action string, v url.Values) diag.Request {
	num := func(k string) int {
		t := field(v, k)
		if t == "" {
			return 0
		}
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return -1
		}
		return n
	}
	return diag.Request{
		Action: diag.Action(action), Tunnel: field(v, "tunnel"), Target: field(v, "target"),
		Port: num("port"), Count: num("count"), Name: field(v, "name"), Type: field(v, "type"),
		Preset: field(v, "preset"), Seconds: num("seconds"), MaxKB: num("max_kb"),
	}
}

// diagRun runs one action and streams its output as it runs: NDJSON for
// the API and the page's script ({"line":..}, {"packets":..,"bytes":..},
// and last {"done":true,"ok":..,"error":..,"download":..}), plain text
// for a browser without script.
func (s *Server) diagRun(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.opt.Diag == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "diagnostics are not available on this box")
		return
	}
	action := r.PathValue("action")
	req := decodeDiagForm(action, r.PostForm)
	job, problems := s.opt.Diag.Plan(req)
	if len(problems) > 0 {
		p := s.base(sess, "Diagnostics", "diagnostics")
		p.Form = r.PostForm
		p.Data = s.diagView(action)
		for _, pr := range problems {
			p.addErr(action+"."+pr.Field, pr.Message)
		}
		if wantJSON(r) { // the API names the form's own fields
			p.fieldErr = nil
			for _, pr := range problems {
				p.fieldErr = append(p.fieldErr, apiError{pr.Field, pr.Message})
			}
		}
		s.render(w, r, "diagnostics", p)
		return
	}
	capture := req.Action == diag.ActCapture
	if msg := s.diag.start(capture); msg != "" {
		s.fail(w, r, http.StatusConflict, msg)
		return
	}
	defer s.diag.end(capture)
	s.logf("webui: diagnostics: %s from %s", action, sourceKey(r))

	st := newDiagStream(w, wantJSON(r))
	out := diag.Output{Lines: st}
	var file bytes.Buffer
	if capture {
		out.File = &file
		out.Progress = st.progress
	}
	err := job.Run(r.Context(), out)
	st.Flush()
	end := map[string]any{"done": true, "ok": err == nil}
	if err != nil {
		end["error"] = err.Error()
	}
	if capture && file.Len() > 0 {
		name := fmt.Sprintf("tunneler-%s-%s-%s.pcap", req.Tunnel, req.Preset, s.now().UTC().Format("20060102-150405"))
		s.diag.keep(file.Bytes(), name)
		end["download"] = "/api/diagnostics/capture.pcap"
		end["file"] = name
	}
	st.finish(end)
}

// diagCapture downloads the last capture (GET /diagnostics/capture.pcap).
func (s *Server) diagCapture(w http.ResponseWriter, r *http.Request, sess *session) {
	s.diag.mu.Lock()
	b, name := s.diag.pcap, s.diag.pcapName
	s.diag.mu.Unlock()
	if b == nil {
		s.fail(w, r, http.StatusNotFound, "no capture was taken since the box started (captures are kept in RAM only)")
		return
	}
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// start admits one more run; it says why not, or "".
func (d *diagState) start(capture bool) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case capture && d.capturing:
		return "a capture is running already; wait for it to end"
	case d.running >= maxDiagRunning:
		return fmt.Sprintf("%d diagnostics are running already; wait for one to end", d.running)
	}
	d.running++
	if capture {
		d.capturing = true
	}
	return ""
}

func (d *diagState) end(capture bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running--
	if capture {
		d.capturing = false
	}
}

// keep replaces the kept capture: one file, in RAM.
func (d *diagState) keep(b []byte, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pcap, d.pcapName = bytes.Clone(b), name
}

// diagStream writes a job's output as it comes, a line at a time, and
// flushes each.
type diagStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	json    bool
	partial []byte
	started bool
}

func newDiagStream(w http.ResponseWriter, asJSON bool) *diagStream {
	return &diagStream{w: w, rc: http.NewResponseController(w), json: asJSON}
}

func (d *diagStream) header() {
	if d.started {
		return
	}
	d.started = true
	h := d.w.Header()
	if d.json {
		h.Set("Content-Type", "application/x-ndjson")
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	d.w.WriteHeader(http.StatusOK)
}

func (d *diagStream) event(v any) {
	d.header()
	if d.json {
		b, _ := json.Marshal(v)
		d.w.Write(append(b, '\n'))
	} else if m, ok := v.(map[string]any); ok {
		if l, ok := m["line"].(string); ok {
			fmt.Fprintln(d.w, l)
		}
	}
	d.rc.Flush()
}

// Write takes the job's text; each whole line goes out at once.
func (d *diagStream) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.partial = append(d.partial, b...)
	for {
		i := bytes.IndexByte(d.partial, '\n')
		if i < 0 {
			break
		}
		d.event(map[string]any{"line": string(d.partial[:i])})
		d.partial = d.partial[i+1:]
	}
	return len(b), nil
}

// Flush sends a last line without its newline.
func (d *diagStream) Flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.partial) > 0 {
		d.event(map[string]any{"line": string(d.partial)})
		d.partial = nil
	}
}

// progress sends a capture's count and size (the page shows them live).
func (d *diagStream) progress(packets, size int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.json {
		d.event(map[string]any{"packets": packets, "bytes": size})
	}
}

func (d *diagStream) finish(end map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.json {
		d.event(end)
		return
	}
	line := "done"
	if e, ok := end["error"].(string); ok {
		line = "failed: " + e
	}
	if dl, ok := end["download"].(string); ok {
		line += "; download the capture at " + strings.TrimPrefix(dl, "/api")
	}
	d.event(map[string]any{"line": line})
}
