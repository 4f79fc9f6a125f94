package webui

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tunneler/tunneler/appliance/config"
)

// Bulk import and export of tunnels, profiles and sites (issue 18).
//
// JSON: {"tunnels": [...], "profiles": [...], "sites": [...]}, each item
// as in the config document. CSV: one tunnel or one site per row, the
// header naming the columns by their form fields (the tunnel form's
// name, peer_address, psk, remote_networks, ...; the site form's name,
// remote_networks, remote1_peer_address, remote1_profile, ...); lists go
// in one cell, separated by commas or newlines.
//
// An imported item replaces the one of the same name or is added. The
// whole file is validated with the rest of the config before anything
// is saved; every error names the file's line. A key left empty or as
// "(hidden)" keeps the stored key of the item of that name, so an export
// (which never carries keys) imports back unchanged.

// importData is the import page's data: the problems, each by line.
type importData struct {
	Problems []string `json:"problems,omitempty"`
	Imported int      `json:"imported,omitempty"`
}

// imported is what a file adds, and the line each item starts on.
type imported struct {
	Tunnels  []config.Tunnel
	Profiles []config.Profile
	Sites    []config.Site
	keep     map[string]bool // "tunnels NAME", "profiles NAME": the key was left out
	lines    map[string][]int
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Import tunnels and sites", "tunnels")
	p.Data = importData{}
	s.render(w, r, "import", p)
}

// importFile reads the uploaded file (field file) or the pasted text
// (field data), merges it into the config and saves the whole, or lists
// every problem by line and saves nothing.
func (s *Server) importFile(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Import tunnels and sites", "tunnels")
	p.Data = importData{}
	data, name, err := importBody(r)
	if err == nil {
		var in imported
		in, err = parseImport(data, name)
		if err == nil {
			c, _, _ := s.box.Config()
			c, where := in.mergeInto(c)
			n := len(in.Tunnels) + len(in.Profiles) + len(in.Sites)
			mapErrs := func(errs config.FieldErrors) {
				var d importData
				for _, fe := range errs {
					d.Problems = append(d.Problems, where(fe.Field)+fe.Message)
					p.fieldErr = append(p.fieldErr, apiError{fe.Field, where(fe.Field) + fe.Message})
				}
				p.Data = d
			}
			if !s.saveChange(w, r, p, c, "import", mapErrs) {
				return
			}
			s.logf("webui: %d tunnels, profiles and sites imported from %s", n, sourceKey(r))
			done(w, r, "/apply", map[string]any{"imported": n})
			return
		}
	}
	d := importData{Problems: strings.Split(err.Error(), "\n")}
	for _, msg := range d.Problems {
		p.fieldErr = append(p.fieldErr, apiError{"file", msg})
	}
	p.Data = d
	s.render(w, r, "import", p)
}

// importBody returns the file's bytes and name ("" for pasted text).
func importBody(r *http.Request) ([]byte, string, error) {
	if f, h, err := r.FormFile("file"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, config.MaxDocumentBytes+1))
		if err != nil {
			return nil, "", fmt.Errorf("read the file: %w", err)
		}
		if len(b) > config.MaxDocumentBytes {
			return nil, "", fmt.Errorf("the file is larger than %d bytes", config.MaxDocumentBytes)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			return b, h.Filename, nil
		}
	}
	if d := r.PostFormValue("data"); strings.TrimSpace(d) != "" {
		return []byte(d), "", nil
	}
	return nil, "", errors.New("choose a CSV or JSON file (or paste its text)")
}

// parseImport reads JSON (a file starting with {) or CSV.
func parseImport(data []byte, name string) (imported, error) {
	in := imported{keep: map[string]bool{}, lines: map[string][]int{}}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' || strings.HasSuffix(strings.ToLower(name), ".json") {
		return in, in.readJSON(data)
	}
	return in, in.readCSV(data)
}

func (in *imported) readJSON(data []byte) error {
	var doc struct {
		Tunnels  []config.Tunnel  `json:"tunnels"`
		Profiles []config.Profile `json:"profiles"`
		Sites    []config.Site    `json:"sites"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("line %d: not valid JSON: %v", lineAt(data, se.Offset), err)
		case errors.As(err, &te):
			return fmt.Errorf("line %d: %s: %v", lineAt(data, te.Offset), te.Field, strings.TrimPrefix(err.Error(), "json: "))
		}
		return fmt.Errorf("not a file of tunnels, profiles and sites: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	in.Tunnels, in.Profiles, in.Sites = doc.Tunnels, doc.Profiles, doc.Sites
	in.lines = jsonItemLines(data)
	return nil
}

// jsonItemLines finds the line each element of the top-level lists
// starts on.
func jsonItemLines(data []byte) map[string][]int {
	out := map[string][]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return out
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		key, _ := k.(string)
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			continue // not a list (decoded and refused above)
		}
		for dec.More() {
			off := dec.InputOffset()
			for off < int64(len(data)) && strings.ContainsRune(" \t\r\n,", rune(data[off])) {
				off++
			}
			out[key] = append(out[key], lineAt(data, off))
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return out
			}
		}
		dec.Token() // ]
	}
	return out
}

func lineAt(data []byte, off int64) int {
	return 1 + bytes.Count(data[:min(max(off, 0), int64(len(data)))], []byte{'\n'})
}

// readCSV reads tunnels or sites, one per row, by the header's columns.
func (in *imported) readCSV(data []byte) error {
	rd := csv.NewReader(bytes.NewReader(data))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	header, err := rd.Read()
	if err != nil {
		return fmt.Errorf("line 1: not a CSV header: %v", err)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(header[i]))
	}
	fields, kind := tunnelFields, "tunnels"
	if slices.Contains(header, "remote1_peer_address") {
		fields, kind = siteFields, "sites"
	}
	var problems []string
	for _, h := range header {
		if !fields[h] {
			problems = append(problems, fmt.Sprintf("line 1: column %q is not a %s setting", h, strings.TrimSuffix(kind, "s")))
		}
	}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		line, _ := rd.FieldPos(0)
		if err != nil {
			return fmt.Errorf("line %d: %v", line, err)
		}
		if len(row) != len(header) {
			problems = append(problems, fmt.Sprintf("line %d: %d cells, but the header names %d columns", line, len(row), len(header)))
			continue
		}
		v := url.Values{}
		for i, cell := range row {
			v.Set(header[i], cell)
		}
		if v.Get("psk") == config.Hidden {
			v.Del("psk") // an export's placeholder: keep the stored key
		}
		in.lines[kind] = append(in.lines[kind], line)
		if kind == "sites" {
			f := decodeSiteForm(v)
			problems = append(problems, cellProblems(line, f.Bad)...)
			in.Sites = append(in.Sites, f.Site)
			continue
		}
		f := decodeTunnelForm(v)
		problems = append(problems, cellProblems(line, f.Bad)...)
		in.keep["tunnels "+f.Tunnel.Name] = f.KeepPSK
		in.Tunnels = append(in.Tunnels, f.Tunnel)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// cellProblems are a row's cells that did not decode, with the row's line.
func cellProblems(line int, bad map[string]string) []string {
	var out []string
	for k, msg := range bad {
		out = append(out, fmt.Sprintf("line %d: %s: %s", line, k, msg))
	}
	return out
}

// mergeInto puts the imported items into c, each replacing the one of
// its name or added at the end, and returns where each config path came
// from in the file ("line 12: tunnels[4].psk: " or the path alone for an
// item that was not imported).
func (in imported) mergeInto(c config.Config) (config.Config, func(path string) string) {
	from := map[string]int{} // "tunnels[4]" -> line
	for j, t := range in.Tunnels {
		i := findTunnel(c, t.Name)
		if i >= 0 && in.keep["tunnels "+t.Name] {
			t.PSK = c.Tunnels[i].PSK // the hidden placeholder: Save keeps the key
		}
		c.Tunnels, i = put(c.Tunnels, i, t)
		from[fmt.Sprintf("tunnels[%d]", i)] = lineOf(in.lines["tunnels"], j)
	}
	for j, pr := range in.Profiles {
		var i int
		c.Profiles, i = put(c.Profiles, findProfile(c, pr.Name), pr)
		from[fmt.Sprintf("profiles[%d]", i)] = lineOf(in.lines["profiles"], j)
	}
	for j, st := range in.Sites {
		var i int
		c.Sites, i = put(c.Sites, findSite(c, st.Name), st)
		from[fmt.Sprintf("sites[%d]", i)] = lineOf(in.lines["sites"], j)
	}
	return c, func(path string) string {
		item, _, _ := strings.Cut(path, ".")
		if line, ok := from[item]; ok && line > 0 {
			return fmt.Sprintf("line %d: %s: ", line, path)
		}
		return path + ": "
	}
}

func lineOf(lines []int, j int) int {
	if j < len(lines) {
		return lines[j]
	}
	return 0
}

// export downloads the tunnels, profiles and sites (keys as "(hidden)"):
// JSON by default, CSV of the tunnels or (kind=sites) of the sites.
func (s *Server) export(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	q := r.URL.Query()
	host := c.System.Hostname
	if host == "" {
		host = config.DefaultHostname
	}
	if q.Get("format") != "csv" {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", host+"-tunnels.json"))
		writeJSON(w, http.StatusOK, map[string]any{"tunnels": orEmpty(c.Tunnels), "profiles": orEmpty(c.Profiles), "sites": orEmpty(c.Sites)})
		return
	}
	var cols []string
	var rows []url.Values
	if q.Get("kind") == "sites" {
		cols = slices.Sorted(func(yield func(string) bool) {
			for k := range siteFields {
				if k != "remotes" && !yield(k) {
					return
				}
			}
		})
		for _, st := range c.Sites {
			rows = append(rows, siteToForm(st))
		}
	} else {
		cols = append([]string{"name", "peer_address", "psk", "remote_networks", "local_networks", "local_address", "mode", "if_id", "routes"},
			slices.DeleteFunc(slices.Clone(ikeFields), func(f string) bool { return f == "psk" })...)
		for _, t := range c.Tunnels {
			v := tunnelToForm(t)
			v.Set("psk", config.Hidden)
			rows = append(rows, v)
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", host+"-"+map[bool]string{true: "sites", false: "tunnels"}[q.Get("kind") == "sites"]+".csv"))
	cw := csv.NewWriter(w)
	cw.Write(cols)
	for _, v := range rows {
		row := make([]string, len(cols))
		for i, col := range cols {
			row[i] = strings.ReplaceAll(v.Get(col), "\n", ",")
		}
		cw.Write(row)
	}
	cw.Flush()
}

func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}
