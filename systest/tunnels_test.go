package systest

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

const (
	insideAddr = "100.64.0.1"
	adminPW    = "correct horse battery staple"
)

// boxTunnel is one tunnel of the box's config: the site it peers with, and
// what the box's side says differently from the site (a wrong PSK) or adds
// (route mode).
type boxTunnel struct {
	site  vmtest.RemoteSiteOptions
	psk   string // the box's PSK; the site's when empty
	extra string // more JSON fields, e.g. `"mode": "route", "if_id": 7`
}

// boxConfigTunnels is boxConfig with per-tunnel differences.
func boxConfigTunnels(t testing.TB, tunnels ...boxTunnel) string {
	t.Helper()
	hash := adminHash(t, adminPW)
	var js []string
	for _, bt := range tunnels {
		s := bt.site
		psk := vmtest.RegisterSecret(cmp.Or(bt.psk, s.PSK))
		extra := ""
		if bt.extra != "" {
			extra = ",\n      " + bt.extra
		}
		js = append(js, fmt.Sprintf(`{
      "name": %q,
      "peer_address": %q,
      "psk": %q,
      "remote_networks": [%q]%s
    }`, s.Name, strings.Split(s.WANAddr, "/")[0], psk, s.SiteNet, extra))
	}
	return fmt.Sprintf(`{
  "version": 2,
  "interfaces": [
    {"role": "wan", "mac": %q, "mode": "static", "address": "%s/24", "gateway": "192.0.2.1"}
  ],
  "admin": {"password_hash": %q},
  "tunnels": [
    %s
  ]
}
`, boxWANMAC, boxWAN, hash, strings.Join(js, ",\n    "))
}

// bootBoxWithSites builds the sites on the lab's WAN bridge and boots a box
// peering with them, with the tcp echo test hook on the inside address.
func bootBoxWithSites(t testing.TB, tunnels ...boxTunnel) (*vmtest.VM, []*vmtest.RemoteSite, *vmtest.Lab) {
	im := vmtest.LoadImage(t)
	lab := vmtest.NewLab(t)
	var sites []*vmtest.RemoteSite
	for _, bt := range tunnels {
		sites = append(sites, vmtest.NewRemoteSite(t, lab, "wan", bt.site))
	}
	disk := espDisk(t, im, "tunneler.json", boxConfigTunnels(t, tunnels...))
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768,
		Append: "tunneler.debug=tcpecho,testhooks", // the echo service, the charon kill entry
		Lab:    lab, NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}}})
	t.Cleanup(func() {
		if t.Failed() {
			for _, rs := range sites {
				t.Logf("remote site %s's charon:\n%s", rs.Opts.Name, tail(rs.Log(), 40))
				log := filepath.Join(vmtest.ArtifactDir(t), rs.Opts.Name+"-charon.log")
				if os.WriteFile(log, []byte(rs.Log()), 0o644) == nil {
					t.Logf("remote site %s's whole charon log: %s", rs.Opts.Name, log)
				}
			}
		}
	})
	return vm, sites, lab
}

// espDisk is diskWithESPFile for tests and benchmarks alike.
func espDisk(t testing.TB, im *vmtest.Image, name, data string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(src, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return espDiskFiles(t, im, map[string]string{name: src})
}

// espDiskFiles is a disk of the image with files copied onto its ESP
// (ESP path: host file), over what is there.
func espDiskFiles(t testing.TB, im *vmtest.Image, files map[string]string) string {
	t.Helper()
	testenv.RequireCommand(t, "mcopy", "qemu-img")
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.img")
	disk := filepath.Join(dir, "disk.qcow2")
	cmds := [][]string{{"cp", "--sparse=always", im.Raw(), raw}}
	for dst, src := range files {
		cmds = append(cmds, []string{"mcopy", "-o", "-i", fmt.Sprintf("%s@@%d", raw, im.Manifest.ESPOffset), src, "::" + dst})
	}
	cmds = append(cmds, []string{"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", raw, disk})
	for _, c := range cmds {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	return disk
}

var tunnelLineRe = regexp.MustCompile(`tunnel name=(\S+) status=(\w+)(?: reason=("(?:[^"\\]|\\.)*"|\S*))?`)

// lastStatus returns the last colour and reason the console printed for a
// tunnel in out.
func lastStatus(out, name string) (colour, reason string) {
	for _, m := range tunnelLineRe.FindAllStringSubmatch(out, -1) {
		if m[1] == name {
			colour = m[2]
			reason = m[3]
			if u, err := strconv.Unquote(reason); err == nil {
				reason = u
			}
		}
	}
	return colour, reason
}

// waitStatus waits until the console, from offset from on, last says the
// tunnel is colour, and returns when that was seen and the reason.
func waitStatus(t testing.TB, vm *vmtest.VM, from int, name, colour string, timeout time.Duration) (time.Time, string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := vm.Console.Output()
		if c, r := lastStatus(out[min(from, len(out)):], name); c == colour {
			return time.Now(), r
		}
		if time.Now().After(deadline) {
			c, r := lastStatus(out, name)
			t.Fatalf("tunnel %s is not %s within %s (last: %s %q)\n%s", name, colour, timeout, c, r, vm.Console.Tail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pingOnce pings until one reply comes back or the deadline passes.
func pingUntil(t testing.TB, h *vmtest.Host, addr string, timeout time.Duration, args ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := h.Command("ping", append([]string{"-n", "-c", "1", "-W", "1"}, append(args, addr)...)...).CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ping reply from %s %v within %s: %v\n%s", addr, args, timeout, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tcpTransfer sends n random bytes from the host to the box's tcp echo
// hook on the inside address and checks they come back intact.
func tcpTransfer(t testing.TB, h *vmtest.Host, n int) time.Duration {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	var conn net.Conn
	err := h.Do(func() error {
		var err error
		conn, err = net.DialTimeout("tcp", net.JoinHostPort(insideAddr, "53"), 10*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("TCP to %s:53 across the tunnel: %v", insideAddr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(90 * time.Second))
	start := time.Now()
	werr := make(chan error, 1)
	go func() { _, err := conn.Write(data); werr <- err }()
	got := make([]byte, n)
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatalf("TCP echo across the tunnel: read: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("TCP echo across the tunnel: write: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("TCP echo across the tunnel: %d bytes came back different", n)
	}
	return time.Since(start)
}

// pinger is a continuous ping from a host; stop returns sent and received.
type pinger struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func startPing(t testing.TB, h *vmtest.Host, addr string, interval string) *pinger {
	t.Helper()
	p := &pinger{cmd: h.Command("ping", "-n", "-i", interval, addr)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	// ip netns exec execs ping: the signal reaches ping itself.
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

var pingSummaryRe = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

func (p *pinger) stop(t testing.TB) (sent, received int, out string) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	p.cmd.Wait()
	m := pingSummaryRe.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("ping printed no summary:\n%s", p.out.String())
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received, p.out.String()
}

// capture runs tcpdump in a namespace; stop returns what it saw as text.
type capture struct {
	cmd  *exec.Cmd
	file string
	ns   *testenv.Netns
}

func startCapture(t testing.TB, ns *testenv.Netns, iface, filter string) *capture {
	t.Helper()
	testenv.RequireCommand(t, "tcpdump")
	c := &capture{ns: ns, file: filepath.Join(t.TempDir(), "wan.pcap")}
	c.cmd = ns.Command("tcpdump", "-i", iface, "-n", "-U", "-w", c.file, filter)
	var errb bytes.Buffer
	c.cmd.Stderr = &errb
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cmd.Process.Kill() })
	// tcpdump says "listening on" once the capture is in place.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

func (c *capture) stop(t testing.TB) string {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	c.cmd.Process.Signal(syscall.SIGINT)
	c.cmd.Wait()
	out, err := exec.Command("tcpdump", "-n", "-r", c.file).CombinedOutput()
	if err != nil {
		t.Fatalf("read capture: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "reading from file") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// killCharon uses the console's debug entry test hook and returns when the
// box said charon was killed.
func killCharon(t testing.TB, vm *vmtest.VM) time.Time {
	t.Helper()
	expectTB := func(re string, d time.Duration) {
		t.Helper()
		if _, err := vm.Console.Expect(regexp.MustCompile(re), d); err != nil {
			t.Fatal(err)
		}
	}
	vm.Console.SendLine("")
	expectTB(`Enter an option:`, 20*time.Second)
	vm.Console.SendLine("11")
	expectTB(`Admin password:`, 20*time.Second)
	vm.Console.SendLine(adminPW)
	expectTB(`type kill-charon`, 30*time.Second)
	at := time.Now()
	vm.Console.SendLine("kill-charon")
	expectTB(`charon \(pid \d+\) killed with SIGKILL`, 20*time.Second)
	return at
}

// waitSeen waits until the console, from offset from on, has printed the
// tunnel with colour at least once.
func waitSeen(t testing.TB, vm *vmtest.VM, from int, name, colour string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := vm.Console.Output()
		for _, m := range tunnelLineRe.FindAllStringSubmatch(out[min(from, len(out)):], -1) {
			if m[1] == name && m[2] == colour {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tunnel %s was not %s within %s\n%s", name, colour, timeout, vm.Console.Tail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// childID and ikeID read the remote site's unique ids of its CHILD_SA and
// IKE_SA: each rekey makes a new SA with the next id.
var (
	siteIKEIDRe   = regexp.MustCompile(`tunneler: #(\d+), ESTABLISHED`)
	siteChildIDRe = regexp.MustCompile(`tunneler: #(\d+), reqid \d+, INSTALLED`)
)

func siteIDs(t testing.TB, rs *vmtest.RemoteSite) (ike, child int) {
	t.Helper()
	out := rs.Swanctl(t, "--list-sas")
	for _, m := range siteIKEIDRe.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		ike = max(ike, n)
	}
	for _, m := range siteChildIDRe.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		child = max(child, n)
	}
	if ike == 0 || child == 0 {
		t.Fatalf("remote site lists no established IKE_SA and installed CHILD_SA:\n%s", out)
	}
	return ike, child
}

// One box with two remote sites (policy mode): both come up; ping, a large
// (fragmented) ping and a TCP stream cross each tunnel; neither site reaches
// the other's network through the box; a continuous ping loses nothing
// across 5 CHILD_SA and 2 IKE_SA rekeys; charon killed with SIGKILL is back
// with the tunnels up within 10 s, and meanwhile no packet to or from a
// remote network crosses the WAN in clear.
func TestTwoSitesIsolationRekeysAndCharonKill(t *testing.T) {
	requireTools(t)
	testenv.RequireCommand(t, "tcpdump")
	site1 := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: sitePSK}
	site2 := vmtest.RemoteSiteOptions{Name: "site2", WANAddr: "192.0.2.3/24", BoxAddr: boxWAN, SiteNet: "10.10.0.0/24", PSK: sitePSK + "2"}
	vm, sites, lab := bootBoxWithSites(t, boxTunnel{site: site1}, boxTunnel{site: site2})
	rs1, rs2 := sites[0], sites[1]

	expectBanner(t, vm, "direct")
	for _, name := range []string{"site1", "site2"} {
		waitStatus(t, vm, 0, name, "green", 90*time.Second)
	}

	// Up: ping, a fragmented ping, and TCP across both tunnels.
	for _, rs := range sites {
		pingUntil(t, rs.Inside, insideAddr, 20*time.Second)
		pingUntil(t, rs.Inside, insideAddr, 10*time.Second, "-s", "4000")
		d := tcpTransfer(t, rs.Inside, 1<<20)
		t.Logf("%s: 1 MiB echoed over TCP across the tunnel in %s", rs.Opts.Name, d.Round(time.Millisecond))
	}

	// Isolation: each site's device routes the other site's network to the
	// box (as a careless or hostile site admin could); nothing arrives.
	rs1.Peer.Run(t, "ip", "route", "add", "10.10.0.0/24", "via", boxWAN)
	rs2.Peer.Run(t, "ip", "route", "add", "10.9.0.0/24", "via", boxWAN)
	at2 := startCapture(t, rs2.Inside.Netns, "eth0", "src net 10.9.0.0/24")
	at1 := startCapture(t, rs1.Inside.Netns, "eth0", "src net 10.10.0.0/24")
	rs1.Inside.Command("ping", "-n", "-c", "5", "-i", "0.2", "-W", "1", "10.10.0.2").Run()
	rs2.Inside.Command("ping", "-n", "-c", "5", "-i", "0.2", "-W", "1", "10.9.0.2").Run()
	if got := at2.stop(t); got != "" {
		t.Errorf("site2's host saw packets from site1 through the box:\n%s", got)
	}
	if got := at1.stop(t); got != "" {
		t.Errorf("site1's host saw packets from site2's network through the box:\n%s", got)
	}

	// Rekeys under a continuous ping: 5 CHILD_SA, then 2 IKE_SA, forced
	// from the remote site.
	ike0, child0 := siteIDs(t, rs1)
	p := startPing(t, rs1.Inside, insideAddr, "0.2")
	time.Sleep(2 * time.Second)
	for i := 0; i < 5; i++ {
		rs1.Swanctl(t, "--rekey", "--child", "tunneler")
		time.Sleep(3 * time.Second)
	}
	for i := 0; i < 2; i++ {
		rs1.Swanctl(t, "--rekey", "--ike", "tunneler")
		time.Sleep(4 * time.Second)
	}
	time.Sleep(2 * time.Second)
	sent, recv, out := p.stop(t)
	ike1, child1 := siteIDs(t, rs1)
	t.Logf("rekeys: IKE_SA #%d -> #%d, CHILD_SA #%d -> #%d; ping %d sent, %d received", ike0, ike1, child0, child1, sent, recv)
	if child1-child0 < 5 || ike1-ike0 < 2 {
		t.Errorf("the remote site did not rekey 5 CHILD_SAs and 2 IKE_SAs: IKE #%d -> #%d, CHILD #%d -> #%d", ike0, ike1, child0, child1)
	}
	if sent < 50 || recv != sent {
		t.Errorf("continuous ping across the rekeys lost %d of %d\n%s", sent-recv, sent, tail(out, 15))
	}
	waitStatus(t, vm, 0, "site1", "green", 10*time.Second)

	// charon killed with SIGKILL: a capture on the WAN bridge shows no
	// cleartext packet to or from a remote network or the overlay while
	// site1's host keeps pinging the inside address.
	wan := startCapture(t, lab.NS, "wan", "net 10.9.0.0/24 or net 10.10.0.0/24 or net 100.64.0.0/10")
	p = startPing(t, rs1.Inside, insideAddr, "0.2")
	time.Sleep(time.Second)
	mark := len(vm.Console.Output())
	killed := killCharon(t, vm)
	for _, name := range []string{"site1", "site2"} {
		waitSeen(t, vm, mark, name, "orange", 10*time.Second)
	}
	var back time.Duration
	for _, name := range []string{"site1", "site2"} {
		at, _ := waitStatus(t, vm, mark, name, "green", 30*time.Second)
		// Green after orange, from the mark: lastStatus is the last line.
		back = max(back, at.Sub(killed))
	}
	t.Logf("charon SIGKILL to both tunnels green again: %.1fs", back.Seconds())
	if back > 10*time.Second {
		t.Errorf("tunnels took %.1fs to come back after charon's SIGKILL, want within 10 s", back.Seconds())
	}
	pingUntil(t, rs1.Inside, insideAddr, 10*time.Second)
	time.Sleep(2 * time.Second)
	sent, recv, _ = p.stop(t)
	t.Logf("ping during the charon outage: %d sent, %d received", sent, recv)
	if got := wan.stop(t); got != "" {
		t.Errorf("cleartext on the WAN while charon was down or restarting:\n%s", got)
	}
	pingUntil(t, rs2.Inside, insideAddr, 20*time.Second)
	if testing.Verbose() {
		fmt.Fprintln(os.Stderr, "box console tail:\n"+vm.Console.Tail(25))
	}
}

// Route mode (an xfrm interface with if_id, as pfSense's routed VTI): a
// remote site's host pings the inside address, with a fragmented ping too,
// and moves a TCP stream across the tunnel.
func TestRouteModeTunnel(t *testing.T) {
	requireTools(t)
	site := vmtest.RemoteSiteOptions{Name: "vti1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: sitePSK}
	vm, sites, lab := bootBoxWithSites(t, boxTunnel{site: site, extra: `"mode": "route", "if_id": 7`})
	rs := sites[0]
	expectBanner(t, vm, "direct")
	waitStatus(t, vm, 0, "vti1", "green", 90*time.Second)
	// The replies only find the tunnel through the route into the xfrm
	// interface (the policies carry its if_id): none may leave in clear.
	wan := startCapture(t, lab.NS, "wan", "net 10.9.0.0/24 or net 100.64.0.0/10")
	pingUntil(t, rs.Inside, insideAddr, 20*time.Second)
	pingUntil(t, rs.Inside, insideAddr, 10*time.Second, "-s", "4000")
	d := tcpTransfer(t, rs.Inside, 1<<20)
	t.Logf("route mode: 1 MiB echoed over TCP across the tunnel in %s", d.Round(time.Millisecond))
	if got := wan.stop(t); got != "" {
		t.Errorf("cleartext on the WAN in route mode:\n%s", got)
	}
	if sas := rs.Swanctl(t, "--list-sas"); !strings.Contains(sas, "INSTALLED") {
		t.Errorf("the remote site lists no installed CHILD_SA:\n%s", sas)
	}
}

// Three remote sites that cannot come up, each for its own reason: a wrong
// PSK, IKE proposals the box does not offer, ESP proposals the box does not
// offer. The console says which, in plain words, for each tunnel.
func TestTunnelFailureReasons(t *testing.T) {
	requireTools(t)
	badpsk := vmtest.RemoteSiteOptions{Name: "badpsk", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: sitePSK}
	badike := vmtest.RemoteSiteOptions{Name: "badike", WANAddr: "192.0.2.3/24", BoxAddr: boxWAN, SiteNet: "10.10.0.0/24", PSK: sitePSK + "ike",
		Proposals: "aes128-sha1-modp1024"}
	badesp := vmtest.RemoteSiteOptions{Name: "badesp", WANAddr: "192.0.2.4/24", BoxAddr: boxWAN, SiteNet: "10.11.0.0/24", PSK: sitePSK + "esp",
		ESP: "aes128-sha1"}
	vm, _, _ := bootBoxWithSites(t,
		boxTunnel{site: badpsk, psk: "Wrong" + sitePSK},
		boxTunnel{site: badike},
		boxTunnel{site: badesp})
	if banner := expectBanner(t, vm, "direct"); strings.Contains(banner, "NOT imported") {
		t.Fatalf("the box refused the config:\n%s", vm.Console.Tail(40))
	}
	want := map[string]*regexp.Regexp{
		// The box initiates: an IKEv2 device answers only
		// AUTHENTICATION_FAILED, which cannot tell a key from an ID.
		"badpsk": regexp.MustCompile(`authentication failed: the remote device rejected this box's pre-shared key or IDs`),
		"badike": regexp.MustCompile(`IKE \(phase 1\) proposals do not match`),
		"badesp": regexp.MustCompile(`ESP \(phase 2\) proposals do not match`),
	}
	deadline := time.Now().Add(120 * time.Second)
	for name, re := range want {
		for {
			out := vm.Console.Output()
			var reasons []string
			found := false
			for _, m := range tunnelLineRe.FindAllStringSubmatch(out, -1) {
				if m[1] != name {
					continue
				}
				r, err := strconv.Unquote(m[3])
				if err != nil {
					r = m[3]
				}
				reasons = append(reasons, m[2]+": "+r)
				if re.MatchString(r) {
					found = true
				}
				if m[2] == "green" {
					t.Errorf("tunnel %s came up", name)
				}
			}
			if found {
				t.Logf("%s: %s", name, reasons[len(reasons)-1])
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("tunnel %s: no reason matching %q; the console said:\n%s", name, re, strings.Join(reasons, "\n"))
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The reason stays while charon keeps retrying, not replaced by a
	// generic "connecting" for good.
	time.Sleep(30 * time.Second)
	out := vm.Console.Output()
	for name, re := range want {
		if c, r := lastStatus(out, name); c == "green" || (!re.MatchString(r) && !strings.Contains(r, "connecting")) {
			t.Errorf("tunnel %s 30 s later: %s %q; want its reason to stay", name, c, r)
		} else {
			t.Logf("%s 30 s later: %s: %s", name, c, r)
		}
	}
}
