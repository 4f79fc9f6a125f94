package vmtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The secrets check: every PSK, password, passphrase and enrollment token
// a system test makes up or is given is registered (RegisterSecret) when
// a helper invents it or hands it to the box, and at the end of the run
// LeakedSecrets looks for each of them in everything the tests kept under
// build/artifacts: console logs, syslog captures, HTTP answers (RecordHTTP)
// and the text of each screenshot. None may be there.

// minSecretLen keeps short strings (a wrong setup code, "admin") out of
// the registry: they would match by chance.
const minSecretLen = 8

// secretsFile is the registry: one secret a line, in the build directory
// next to (not in) artifacts/, so artifacts can be shared without it. It
// persists across runs, so artifacts a previous run left are checked for
// that run's secrets too.
func secretsFile() (string, error) {
	build, err := BuildDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(build, "test-secrets.txt"), nil
}

var registryMu sync.Mutex

// RegisterSecret adds s to the registry and returns it, so a helper can
// write `psk := vmtest.RegisterSecret("...")`. Strings shorter than 8
// bytes, and ones with a line break, are not registered.
func RegisterSecret(s string) string {
	if len(s) < minSecretLen || strings.ContainsAny(s, "\r\n") {
		return s
	}
	path, err := secretsFile()
	if err != nil {
		return s
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if known, _ := readSecrets(path); slices.Contains(known, s) {
		return s
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return s
	}
	defer f.Close()
	fmt.Fprintln(f, s)
	return s
}

// RegisteredSecrets returns the registry's secrets.
func RegisteredSecrets() ([]string, error) {
	path, err := secretsFile()
	if err != nil {
		return nil, err
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	return readSecrets(path)
}

func readSecrets(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the test secrets registry: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := sc.Text(); len(s) >= minSecretLen && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// Leak is one secret found in one artifact.
type Leak struct {
	File   string // relative to the artifacts directory
	Secret string // as registered
	Form   string // how it appeared: "as is", "URL-encoded", "JSON-escaped"
}

func (l Leak) String() string {
	// Not the secret itself: this report may end up in a log too.
	return fmt.Sprintf("%s: a registered secret of %d bytes starting %q (%s)", l.File, len(l.Secret), l.Secret[:2], l.Form)
}

// LeakedSecrets looks for each secret, as is and in the forms a page or
// an API answer would carry it, in every file under dir. Screenshots
// (PNG) are skipped: their text is kept beside them as .txt.
func LeakedSecrets(dir string, secrets []string) ([]Leak, error) {
	type form struct{ name, text string }
	var forms [][]form
	for _, s := range secrets {
		js, _ := json.Marshal(s)
		fs := []form{{"as is", s}}
		for _, f := range []form{{"URL-encoded", url.QueryEscape(s)}, {"JSON-escaped", string(js[1 : len(js)-1])}} {
			if f.text != s {
				fs = append(fs, f)
			}
		}
		forms = append(forms, fs)
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // WalkDir does not follow a symlink, even as its root
	}
	var leaks []Leak
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || strings.EqualFold(filepath.Ext(path), ".png") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read artifact: %w", err)
		}
		rel, _ := filepath.Rel(dir, path)
		for i, fs := range forms {
			for _, f := range fs {
				if bytes.Contains(data, []byte(f.text)) {
					leaks = append(leaks, Leak{File: rel, Secret: secrets[i], Form: f.name})
					break
				}
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return leaks, err
}

// RecordHTTP makes c keep every answer it gets (status, headers, body) in
// ArtifactDir(t)/http.log, for a person to read and for the secrets check.
// Bodies are read whole (up to 16 MiB) before the caller sees them, so an
// answer the test ignores is checked too; event streams are kept as the
// caller reads them.
func RecordHTTP(t testing.TB, c *http.Client) *http.Client {
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = &recorder{next: rt, path: filepath.Join(ArtifactDir(t), "http.log")}
	return c
}

type recorder struct {
	next http.RoundTripper
	path string
	mu   sync.Mutex
}

const recordLimit = 16 << 20

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "\n=== %s %s -> %s\n", req.Method, req.URL, resp.Status)
	resp.Header.Write(&head)
	head.WriteString("\n")
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		r.write(head.Bytes())
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(resp.Body, writerFunc(r.write)), resp.Body}
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, recordLimit))
	r.write(append(head.Bytes(), body...))
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), errReader{rerr}, rest), rest}
	return resp, nil
}

func (r *recorder) write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return len(b), nil // recording is best effort; the test goes on
	}
	defer f.Close()
	f.Write(b)
	return len(b), nil
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(b []byte) (int, error) { return w(b) }

// errReader passes on the error that cut a body's recording short.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
