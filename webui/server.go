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
//	GET  /overview   counts by colour; at most 50 tunnels and sites, those not up first
//	GET  /ipsec, /tunnels, /sites   ?q=&colour=&page=&per_page= (default 50): a page of
//	     the list, searched by name, peer or network; the answer's "list" has the counts
//	GET  /logs?kind=&window=&since=&until=, /charts?window=&tunnel=
//	GET|POST /tunnels/new, /tunnels/{name}/edit
//	GET|POST /tunnels/{name}/{reconnect,delete}   (POST needs confirm=yes)
//	GET  /tunnels/{name}/remote, /tunnels/{name}/remote/{vendor} (appliance/remoteconfig.Vendors)
//	GET|POST /import   a CSV or JSON file of tunnels, profiles and sites (file or data), validated whole
//	GET  /export[?format=csv[&kind=sites]]   the same file (keys as "(hidden)")
//	GET|POST /sites/new, /sites/{site}/edit   (a site: networks, up to four remotes, monitor, hold-down)
//	GET|POST /profiles/new, /profiles/{name}/edit   (every IPsec setting of a profile)
//	GET|POST /sites/json   (profiles and sites as one JSON document, field sites_json; POST /sites too)
//	GET|POST /sites/{site}/remotes/{n}/restart   (POST needs confirm=yes)
//	GET  /settings, POST /settings/{network,system,password}, GET /settings/backup (no secrets)
//	POST /settings/certificate  the operator's own certificate: cert (PEM, chain after it), key (PEM)
//	POST /settings/backup    encrypted backup (backup_passphrase, backup_passphrase2)
//	POST /settings/restore   file, passphrase, confirm=yes (mapping_confirm=yes for other NICs); on trial by default
//	GET  /settings/history, GET|POST /settings/history/{n}/restore   (POST needs confirm=yes; on trial by default)
//	GET|POST /setup/restore  a fresh box from an encrypted backup (file, passphrase, mapping_confirm)
//	GET|POST /settings/{reboot,factory-reset,restart-charon}   (POST needs confirm=yes)
//	GET  /firmware, PUT /api/firmware[?downgrade=yes]   (the bundle as the streamed body)
//	GET|POST /firmware/boot?version=V         (POST needs confirm=yes): trial reboot
//	GET  /diagnostics; POST /diagnostics/{ping,tcp,traceroute,dns,capture}   streamed as it runs
//	     (NDJSON under /api/, plain text otherwise); GET /diagnostics/capture.pcap: the last capture
//	GET  /certificates; POST /certificates/{make,import,remove}; GET /certificates/request.csr
//	     the box's key and certificate, imported CAs and device certificates (certs.go)
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
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/webui/metrics"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a Server.
type Options struct {
	Appliance Appliance
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
	// Firmware installs updates and switches slots (appliance/update);
	// nil: the Firmware page says updates are not available.
	Firmware Firmware
	// CertDir is where an operator's certificate is kept (the directory
	// LoadOrCreateCert reads); "" refuses uploads. CertChanged, if set,
	// hears of a new certificate once it is kept and served (the console
	// shows its fingerprint).
	CertDir     string
	CertChanged func(tls.Certificate)
	// Diag plans the Diagnostics page's actions (appliance/diag); nil:
	// the page says diagnostics are not available.
	Diag Diagnostics
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
	patterns []string // every route's pattern, as routes registered them
	static   http.Handler
	mu       sync.Mutex // guards lastSample
	// routerLast is the last enrollment's steps, for the Router page.
	routerLast routerLast
	fw         firmwareState // the last firmware upload (firmware.go)
	// cert is the certificate served: Serve's, until the operator uploads
	// one (opcert.go). Every TLS handshake reads it.
	cert atomic.Pointer[tls.Certificate]
	diag diagState // running diagnostics, the last capture (diag.go)
}

// New returns a Server for o.
func New(o Options) (*Server, error) {
	if o.Appliance == nil {
		return nil, errors.New("webui: Options.Appliance is nil")
	}
	s := &Server{box: o.Appliance, opt: o, now: o.Now, hash: o.Hash, logf: o.Logf, rec: metrics.New(0)}
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
	// The first Serve's certificate stays until an upload replaces it:
	// later calls (a rebind) pass the one they were started with.
	s.cert.CompareAndSwap(nil, &cert)
	tlsConf := TLSConfig(s.cert.Load)
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
