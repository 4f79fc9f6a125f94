package vmtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLeakedSecretsFindsPlanted plants registered secrets in artifacts
// the way a console, a page or an API answer would carry them: the check
// must find each, and nothing in clean files or in screenshots.
func TestLeakedSecretsFindsPlanted(t *testing.T) {
	t.Setenv("TUNNELER_BUILD", t.TempDir())
	psk := RegisterSecret("Kp7rW2vX9qLm4TzB8nYc3HdF6jGs")
	pass := RegisterSecret("correct horse battery staple")
	tok := RegisterSecret(`eyJhbGciOi"tok"`)
	RegisterSecret("short") // not registered: too short to check
	RegisterSecret(psk)     // once only
	got, err := RegisteredSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{psk, pass, tok}, got); diff != "" {
		t.Fatalf("registry (-want +got):\n%s", diff)
	}

	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("TestA/console.log", "boot\nload-shared: secret="+psk+"\n")
	write("TestB/http.log", "=== POST /api/login -> 200\n\npassword=correct+horse+battery+staple\n")
	write("TestC/01-tunnel.txt", `{"token":"eyJhbGciOi\"tok\""}`)
	write("TestD/console.log", "tunnel name=site1 status=green\n")
	write("TestD/01-shot.png", psk) // binary: skipped
	leaks, err := LeakedSecrets(dir, got)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, l := range leaks {
		seen = append(seen, fmt.Sprintf("%s %s", filepath.ToSlash(l.File), l.Form))
		if strings.Contains(l.String(), l.Secret) {
			t.Errorf("a leak's report repeats the secret: %s", l)
		}
	}
	want := []string{"TestA/console.log as is", "TestB/http.log URL-encoded", "TestC/01-tunnel.txt JSON-escaped"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("leaks (-want +got):\n%s", diff)
	}
	if leaks, err := LeakedSecrets(filepath.Join(dir, "TestD"), got); err != nil || len(leaks) != 0 {
		t.Errorf("clean artifacts: leaks %v, %v", leaks, err)
	}
}

// TestRecordHTTPKeepsAnswers: an answer lands in http.log whole, even
// when the test reads none of it, and the caller still gets the body.
func TestRecordHTTPKeepsAnswers(t *testing.T) {
	build := t.TempDir()
	t.Setenv("TUNNELER_BUILD", build)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "answer to %s", r.URL.Path)
	}))
	defer srv.Close()
	c := RecordHTTP(t, &http.Client{})
	resp, err := c.Get(srv.URL + "/read")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "answer to /read" {
		t.Errorf("caller got %q", body)
	}
	resp, err = c.Get(srv.URL + "/ignored")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	log, err := os.ReadFile(filepath.Join(ArtifactDir(t), "http.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GET " + srv.URL + "/read -> 200 OK", "answer to /read", "answer to /ignored"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("http.log lacks %q:\n%s", want, log)
		}
	}
}
