package ziti

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netns"
)

// ControllerCheck is the id of the router's health check that pings its
// controller over the control channel.
const ControllerCheck = "controllerPing"

// Health is the router's health-checks answer. The router answers HTTP
// 200 whether healthy or not: only the JSON says.
type Health struct {
	Healthy bool    `json:"healthy"`
	Checks  []Check `json:"checks"`
}

// Check is one of the router's health checks.
type Check struct {
	ID                  string          `json:"id"`
	Healthy             bool            `json:"healthy"`
	Err                 json.RawMessage `json:"err,omitempty"`
	Details             json.RawMessage `json:"details,omitempty"`
	ConsecutiveFailures int             `json:"consecutiveFailures,omitempty"`
	FailingSince        string          `json:"failingSince,omitempty"`
	LastCheckTime       string          `json:"lastCheckTime,omitempty"`
}

// ParseHealth reads the health-checks JSON: {"data": {"healthy": ...,
// "checks": [...]}, "meta": {}}.
func ParseHealth(r io.Reader) (*Health, error) {
	var doc struct {
		Data *Health `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("router health: not JSON: %w", err)
	}
	if doc.Data == nil {
		return nil, fmt.Errorf("router health: no \"data\" in the answer")
	}
	return doc.Data, nil
}

// Connected reports whether the router's last controller ping passed.
// Before the first ping has run the check is failing, which is right: the
// router is not known to be connected yet.
func (h *Health) Connected() error {
	for _, c := range h.Checks {
		if c.ID != ControllerCheck {
			continue
		}
		if c.Healthy {
			return nil
		}
		why := c.reason()
		if why == "" {
			why = "no answer yet"
		}
		if c.FailingSince != "" {
			return fmt.Errorf("not connected to the controller since %s: %s", c.FailingSince, why)
		}
		return fmt.Errorf("not connected to the controller: %s", why)
	}
	return fmt.Errorf("not connected to the controller: the router reports no %s check", ControllerCheck)
}

// reason is the check's error (a string, or an object) or details, as
// words.
func (c Check) reason() string {
	for _, raw := range []json.RawMessage{c.Err, c.Details} {
		if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s != "" && s != "didn't run yet" {
				return s
			}
			continue
		}
		// The ping check's error is an object: {"message": "..."}.
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
			return obj.Message
		}
		return strings.Join(strings.Fields(string(raw)), " ")
	}
	return ""
}

// Health fetches the router's health checks from its loopback web
// listener.
func (r *Router) Health(ctx context.Context) (*Health, error) {
	url := "https://" + r.Settings().HealthListen.String() + "/health-checks"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("router health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("router health: HTTP %s", resp.Status)
	}
	return ParseHealth(resp.Body)
}

// Probe is the supervise.Service Probe: nil while the router is
// connected to its controller, else why not. Give it a ProbeInterval of
// a few seconds and no ProbeFailuresToRestart: a controller that is away
// is not cured by restarting the router, which reconnects by itself.
func (r *Router) Probe(ctx context.Context) error {
	h, err := r.Health(ctx)
	if err != nil {
		return err
	}
	return h.Connected()
}

func (r *Router) httpClient() *http.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return r.client
	}
	dialer := &net.Dialer{Timeout: 3 * time.Second}
	dial := dialer.DialContext
	if r.inNS() {
		ns := r.NetNS
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialIn(ctx, ns, dialer, network, addr)
		}
	}
	r.client = &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DialContext: dial,
			// The listener serves the router's server certificate,
			// issued for the router's id rather than for 127.0.0.1:
			// check its chain against the enrolled CA bundle, not its
			// name.
			TLSClientConfig: &tls.Config{
				InsecureSkipVerify:    true,
				VerifyPeerCertificate: verifyAgainst(r.settings.Paths.CA()),
			},
			DisableKeepAlives: true,
		},
	}
	return r.client
}

// verifyAgainst checks the peer's chain against the CA bundle in caFile,
// read at each handshake so a re-enrollment is picked up.
func verifyAgainst(caFile string) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("router CA bundle: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return fmt.Errorf("router CA bundle %s: no certificates", caFile)
		}
		if len(raw) == 0 {
			return fmt.Errorf("router presented no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, b := range raw {
			if certs[i], err = x509.ParseCertificate(b); err != nil {
				return fmt.Errorf("router certificate: %w", err)
			}
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err = certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		return err
	}
}

// dialIn opens a connection from inside network namespace ns: the socket
// belongs to the namespace of the thread that creates it.
func dialIn(ctx context.Context, ns netns.NsHandle, d *net.Dialer, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is left locked on purpose if it cannot go back:
		// it then dies with this goroutine instead of serving others.
		orig, err := netns.Get()
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			ch <- result{nil, err}
			return
		}
		c, err := d.DialContext(ctx, network, addr)
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	res := <-ch
	if res.err != nil && errors.Is(res.err, context.Canceled) {
		return nil, ctx.Err()
	}
	return res.c, res.err
}
