package ziti

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/vishvananda/netlink"
)

// The host-level test runs a real controller (`ziti edge quickstart`)
// and our router in one network namespace of its own, both on that
// namespace's loopback: nothing leaves it, and the diverter's nftables
// rules and the address on lo stay there too.

// Ports of our router inside the lab; the quickstart's own router has
// 3022 (edge) and the controller 1280.
var (
	labEdge   = netip.MustParseAddrPort("127.0.0.1:13022")
	labHealth = netip.MustParseAddrPort("127.0.0.1:18081")
)

const labCtrl = "127.0.0.1:1280"

// zitiBinaries finds image/ziti/build.sh's output, or skips.
func zitiBinaries(t testing.TB) (router, cli string) {
	t.Helper()
	build := os.Getenv("TUNNELER_BUILD")
	if build == "" {
		build = filepath.Join("..", "..", "build")
	}
	router, cli = filepath.Join(build, "ziti", "ziti-router"), filepath.Join(build, "ziti", "ziti")
	for _, p := range []string{router, cli} {
		if _, err := os.Stat(p); err != nil {
			testenv.Skip(t, fmt.Sprintf("needs the ziti binaries: run image/ziti/build.sh all (%v)", err))
		}
	}
	router, _ = filepath.Abs(router)
	cli, _ = filepath.Abs(cli)
	return router, cli
}

// lab is a controller in a namespace, and what our router needs there.
type lab struct {
	t    testing.TB
	ns   *testenv.Netns
	dir  string
	home string // HOME for the ziti CLI (its login lives there)
	cli  string
	bin  string // ziti-router
	div  string // the diverter symlink
	logs []string
	ctrl *proc // the quickstart
}

func newLab(t testing.TB) *lab {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")
	bin, cli := zitiBinaries(t)
	l := &lab{t: t, dir: t.TempDir(), cli: cli, bin: bin}
	l.home = filepath.Join(l.dir, "home")
	os.MkdirAll(l.home, 0o700)
	l.ns = testenv.NewNetns(t, "ziti")
	// `ip netns exec` mounts this over /etc/resolv.conf: the router's
	// resolver self-test then asks the router itself, and no lookup
	// leaves for the host's name servers.
	etc := filepath.Join("/etc/netns", l.ns.Name)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(etc) })
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver "+config.DefaultInsideAddress.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The box's firewall, so the diverter has its intercept chain, and
	// the TPROXY policy route.
	conn, err := nftables.New(nftables.WithNetNSFd(int(l.ns.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	spec := firewall.Spec{WAN: []string{"wan0"}, LAN: []string{"lan0"}, InsideAddr: config.DefaultInsideAddress, InterceptRange: config.DefaultInterceptRange}
	if err := firewall.Apply(conn, spec); err != nil {
		t.Fatalf("firewall in lab: %v", err)
	}
	h, err := netlink.NewHandleAt(l.ns.Handle())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := firewall.EnsureTProxyRoute(h); err != nil {
		t.Fatal(err)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l.div = filepath.Join(l.dir, diverterName)
	if err := os.Symlink(self, l.div); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range l.logs {
				b, _ := os.ReadFile(f)
				if len(b) > 12000 {
					b = b[len(b)-12000:]
				}
				t.Logf("--- %s (tail):\n%s", filepath.Base(f), b)
			}
		}
	})
	l.startController()
	return l
}

// proc is a long-lived program the lab started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// kill sends SIGKILL, as a crash would, and waits for the process.
func (p *proc) kill() {
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// start runs a long-lived program in the namespace, in its own process
// group, logging to name.log; it is stopped when the test ends.
func (l *lab) start(name string, path string, args ...string) *proc {
	l.t.Helper()
	logf := filepath.Join(l.dir, name+".log")
	f, err := os.OpenFile(logf, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		l.t.Fatal(err)
	}
	if !slices.Contains(l.logs, logf) {
		l.logs = append(l.logs, logf)
	}
	cmd := l.ns.Command(path, args...)
	cmd.Env = append(os.Environ(), "HOME="+l.home)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	l.t.Cleanup(func() { stop(cmd, done) })
	return &proc{cmd, done}
}

func stop(cmd *exec.Cmd, done chan struct{}) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// ziti runs the CLI in the namespace.
func (l *lab) ziti(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.ns.Name, l.cli}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+l.home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ziti %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (l *lab) mustZiti(args ...string) string {
	l.t.Helper()
	out, err := l.ziti(args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

func (l *lab) startController() {
	l.t.Helper()
	l.ctrl = l.start("quickstart", l.cli, "edge", "quickstart", "--home", filepath.Join(l.dir, "qs"),
		"--ctrl-address", "127.0.0.1", "--router-address", "127.0.0.1")
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, err := l.ziti("edge", "login", labCtrl, "-u", "admin", "-p", "admin", "-y")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("controller not ready after 90 s: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// newRouterToken creates an edge router on the controller and returns
// the path of its enrollment token.
func (l *lab) newRouterToken(name string) string {
	l.t.Helper()
	jwt := filepath.Join(l.dir, name+".jwt")
	l.mustZiti("edge", "create", "edge-router", name, "--tunneler-enabled", "-o", jwt)
	return jwt
}

// runInNS is the Runner: enrollment runs in the lab's namespace.
func (l *lab) runInNS(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	c := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.ns.Name, cmd.Path}, cmd.Args[1:]...)...)
	out, err := c.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return out, nil
}

// router is our Router in the lab, its files under dir/perm.
func (l *lab) router(name string) *Router {
	r := New(config.Router{
		IdentityPath:   filepath.Join(l.dir, name, "perm", "ziti", "router.yml"),
		InterceptRange: config.PrefixFrom(config.DefaultInterceptRange),
		InsideAddress:  config.AddrFrom(config.DefaultInsideAddress),
	}, l.runInNS)
	r.Binary = l.bin
	r.NetNS = l.ns.Handle()
	s := r.Settings()
	s.Diverter, s.EdgeListen, s.HealthListen = l.div, labEdge, labHealth
	r.SetSettings(s)
	return r
}

// run starts the router as supervise would: Prepare, then the command.
func (l *lab) run(r *Router, name string) *proc {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Prepare(ctx); err != nil {
		l.t.Fatalf("Prepare: %v", err)
	}
	path, args := r.Command()
	return l.start(name, path, args...)
}

// waitLost polls Probe until the router says it is not connected, and
// returns what it said.
func waitLost(t testing.TB, r *Router, within time.Duration) error {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := r.Probe(ctx)
		cancel()
		if err != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("router still reports connected %v after its controller went away", within)
	return nil
}

// waitConnected polls Probe until the router is connected.
func waitConnected(t testing.TB, r *Router, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = r.Probe(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("router not connected after %v: %v", within, err)
}

// rssKB reads a process's resident set from /proc.
func rssKB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, errors.New("no VmRSS")
}

// TestHostEnrollAndConnect: a token from a real controller enrolls our
// router through this package; the router starts from the rendered
// config (tproxy with our diverter, resolver on the inside address) and
// its health checks say it is connected. The same token again is refused
// in plain words and changes nothing.
func TestHostEnrollAndConnect(t *testing.T) {
	l := newLab(t)
	jwt := l.newRouterToken("box1")
	raw, err := os.ReadFile(jwt)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseToken(raw, time.Now())
	if err != nil {
		t.Fatalf("the controller's token does not pass our checks: %v", err)
	}
	t.Logf("token: kind %s issuer %s controllers %v expires %v", tok.Kind, tok.Issuer, tok.Controllers, tok.Expires)

	r := l.router("box1")
	ctx := context.Background()
	if _, err := r.EnrollFile(ctx, jwt); err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if _, err := os.Stat(jwt); !os.IsNotExist(err) {
		t.Errorf("token still on disk after enrolling")
	}
	for _, f := range []string{r.Paths().Key(), r.Paths().Cert(), r.Paths().CA()} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", f, err, st.Mode().Perm())
		}
	}
	l.run(r, "box1")
	waitConnected(t, r, 60*time.Second)

	// The resolver's address is on lo, as Prepare put it (scope host).
	if out := l.ns.Run(t, "ip", "-4", "addr", "show", "dev", "lo"); !strings.Contains(out, "inet 100.64.0.1/10 ") || !strings.Contains(out, "scope host lo") {
		t.Errorf("lo lacks the inside address:\n%s", out)
	}

	// The tunnel binding runs in tproxy mode through our diverter, and
	// its resolver bound the inside address.
	logText := func() string { b, _ := os.ReadFile(filepath.Join(l.dir, "box1.log")); return string(b) }
	// The tunneler starts after the control channel is up, and its DNS
	// server takes 2 s to call itself running.
	var lt string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if lt = logText(); strings.Contains(lt, "using external tproxy diverter") {
			break
		}
	}
	if !strings.Contains(lt, "using external tproxy diverter") || !strings.Contains(lt, "tunneler-diverter 1 (nftables") {
		t.Errorf("router log does not show our diverter answering -V:\n%s", grepLines(lt, "tproxy", "diverter", "tunnel", "resolver"))
	}
	if strings.Contains(lt, "failed to start DNS resolver") || strings.Contains(lt, "system resolver test failed") {
		t.Errorf("router's DNS resolver did not start on the inside address:\n%s", grepLines(lt, "dns", "resolver"))
	}

	// Reused token: refused, in words, and the identity untouched.
	before := snapshot(t, r.Paths().Dir)
	os.WriteFile(jwt, raw, 0o600)
	_, err = r.EnrollFile(ctx, jwt)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "used already") {
		t.Errorf("reused token: %v, want ErrRefused saying it was used already", err)
	}
	t.Logf("reused token: %v", err)
	if after := snapshot(t, r.Paths().Dir); after != before {
		t.Errorf("a refused token changed the identity")
	}
	if _, err := os.Stat(jwt); !os.IsNotExist(err) {
		t.Errorf("reused token still on disk")
	}
	if got := entries(t, filepath.Dir(r.Paths().Dir)); strings.Join(got, " ") != "identity router.yml" {
		t.Errorf("after a refused token the router's directory holds %v", got)
	}
	waitConnected(t, r, 10*time.Second)

	// The controller goes away: the probe says so within a ping period
	// or two. It comes back: the same router process reconnects.
	stop(l.ctrl.cmd, l.ctrl.done)
	t0 := time.Now()
	lost := waitLost(t, r, 20*time.Second)
	t.Logf("controller stopped: after %.1f s the probe says %q", time.Since(t0).Seconds(), lost)
	l.startController()
	t0 = time.Now()
	waitConnected(t, r, 60*time.Second)
	t.Logf("controller back: router connected again after %.1f s", time.Since(t0).Seconds())
}

// grepLines returns the lines of s holding any of words.
func grepLines(s string, words ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// addService creates an overlay service with an intercept config the
// router named dialer may dial: name:80/tcp.
func (l *lab) addService(svc, host, dialer string) {
	l.t.Helper()
	cfg := fmt.Sprintf(`{"protocols":["tcp"],"addresses":[%q],"portRanges":[{"low":80,"high":80}]}`, host)
	l.mustZiti("edge", "create", "config", svc+"-intercept", "intercept.v1", cfg)
	l.mustZiti("edge", "create", "service", svc, "--configs", svc+"-intercept")
	l.mustZiti("edge", "create", "service-policy", svc+"-dial", "Dial", "--service-roles", "@"+svc, "--identity-roles", "@"+dialer)
	l.mustZiti("edge", "create", "service-edge-router-policy", svc+"-serp", "--service-roles", "@"+svc, "--edge-router-roles", "#all")
}

// interceptsFor lists the lab's intercept rules for port 80/tcp.
func (l *lab) intercepts() []firewall.Intercept {
	l.t.Helper()
	conn, err := nftables.New(nftables.WithNetNSFd(int(l.ns.Handle())))
	if err != nil {
		l.t.Fatal(err)
	}
	ics, err := firewall.Intercepts(conn)
	if err != nil {
		l.t.Fatal(err)
	}
	return ics
}

// resolve asks the router's resolver on the inside address, from inside
// the namespace, as a host behind the remote site would.
func (l *lab) resolve(name string) ([]netip.Addr, error) {
	d := &net.Dialer{Timeout: time.Second}
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialIn(ctx, l.ns.Handle(), d, network, netip.AddrPortFrom(config.DefaultInsideAddress, DNSPort).String())
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return res.LookupNetIP(ctx, "ip4", name)
}

// waitIntercept waits until the resolver answers host with an address in
// the intercept range and the diverter holds a rule for it.
func (l *lab) waitIntercept(host string, within time.Duration) (netip.Addr, error) {
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		var addrs []netip.Addr
		addrs, err = l.resolve(host)
		if err == nil && len(addrs) > 0 {
			a := addrs[0]
			if !config.DefaultInterceptRange.Contains(a) || a == config.DefaultInsideAddress {
				return a, fmt.Errorf("%s resolved to %s, outside the intercept range or the inside address", host, a)
			}
			for _, ic := range l.intercepts() {
				if ic.Proto == "tcp" && ic.Dst == netip.PrefixFrom(a, 32) && ic.LowPort == 80 && ic.HighPort == 80 {
					return a, nil
				}
			}
			err = fmt.Errorf("%s resolves to %s but no intercept rule for it: %+v", host, a, l.intercepts())
		}
		time.Sleep(250 * time.Millisecond)
	}
	return netip.Addr{}, err
}

// TestHostInterceptsAfterKill: a service the router may dial gets a DNS
// name on the inside address and a TPROXY rule through our diverter. The
// router killed with SIGKILL leaves its rules behind; the next start
// (Prepare flushes them) is connected and intercepting again within 15 s.
func TestHostInterceptsAfterKill(t *testing.T) {
	l := newLab(t)
	r := l.router("box2")
	if _, err := r.EnrollFile(context.Background(), l.newRouterToken("box2")); err != nil {
		t.Fatal(err)
	}
	l.addService("web", "web.ziti.test", "box2")
	p := l.run(r, "box2")
	waitConnected(t, r, 60*time.Second)
	a, err := l.waitIntercept("web.ziti.test", 45*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("web.ziti.test -> %s, intercepted", a)

	p.kill()
	if len(l.intercepts()) == 0 {
		t.Log("no rules left after SIGKILL (nothing to flush)")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(l.intercepts()); n != 0 {
		t.Errorf("Prepare left %d stale intercepts", n)
	}
	path, args := r.Command()
	l.start("box2", path, args...)
	waitConnected(t, r, 15*time.Second)
	if _, err := l.waitIntercept("web.ziti.test", 15*time.Second-time.Since(start)); err != nil {
		t.Fatalf("intercepts not back within 15 s of the restart: %v", err)
	}
	t.Logf("connected and intercepting again %.1f s after the restart", time.Since(start).Seconds())
	if n := len(l.intercepts()); n != 1 {
		t.Errorf("%d intercept rules after the restart, want 1: %+v", n, l.intercepts())
	}
}
