package systest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
	"github.com/tunneler/tunneler/webui"
)

const (
	foBoxLAN    = "192.168.77.1"
	foBoxLANMAC = "52:54:00:00:0b:10"
	foHostAddr  = "10.9.0.100" // the host behind the site, reached through either device
	foInterval  = 0.2          // the continuous ping's interval, seconds
)

// failoverLab is one site ("hq", 10.9.0.0/24) served by two stock
// strongSwan devices, a primary (192.0.2.2) and a secondary (192.0.2.3),
// and a box with both as remotes of one site, monitors at 1 s. A host
// behind the site (foHostAddr) has a link to each device and routes to the
// box through the primary while its link is up (a linkdown route is
// ignored), else through the secondary: the site's own routing, as VRRP
// or a routing protocol would do it.
type failoverLab struct {
	vm      *vmtest.VM
	lab     *vmtest.Lab
	dev     [2]*vmtest.RemoteSite
	devLink [2]string // each device's link to the host, in its namespace
	host    *vmtest.Host
	api     *foAPI
}

func failoverConfig(t testing.TB) string {
	t.Helper()
	hash := adminHash(t, adminPW)
	return fmt.Sprintf(`{
  "version": 3,
  "interfaces": [
    {"role": "wan", "mac": %q, "mode": "static", "address": "%s/24", "gateway": "192.0.2.1"},
    {"role": "lan", "mac": %q, "mode": "static", "address": "%s/24"}
  ],
  "admin": {"password_hash": %q},
  "profiles": [{"name": "stock-strongswan", "psk": %q}],
  "sites": [{
    "name": "hq",
    "remote_networks": ["10.9.0.0/24"],
    "remotes": [
      {"peer_address": "192.0.2.2", "profile": "stock-strongswan"},
      {"peer_address": "192.0.2.3", "profile": "stock-strongswan"}
    ],
    "hold_down": "5s",
    "monitor": {"type": "icmp", "target": %q, "interval": "1s"}
  }]
}
`, boxWANMAC, boxWAN, foBoxLANMAC, foBoxLAN, hash, sitePSK, foHostAddr)
}

func newFailoverLab(t testing.TB) *failoverLab {
	t.Helper()
	testenv.RequireCommand(t, "tcpdump", "ping")
	im := vmtest.LoadImage(t)
	fl := &failoverLab{lab: vmtest.NewLab(t)}
	for i := range fl.dev {
		fl.dev[i] = vmtest.NewRemoteSite(t, fl.lab, "wan", vmtest.RemoteSiteOptions{Name: fmt.Sprintf("hq%d", i+1),
			WANAddr: fmt.Sprintf("192.0.2.%d/24", i+2), BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: sitePSK})
	}
	fl.host = &vmtest.Host{Netns: testenv.NewNetns(t, "hqhost"), Addr: foHostAddr}
	h := fl.host
	h.Run(t, "ip", "link", "set", "lo", "up")
	h.Run(t, "ip", "addr", "add", foHostAddr+"/32", "dev", "lo")
	for _, s := range []string{"net.ipv4.conf.all.ignore_routes_with_linkdown=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"} {
		h.Run(t, "sysctl", "-qw", s)
	}
	for i, d := range fl.dev {
		outer := fmt.Sprintf("fo%d-%d", os.Getpid()%100000, i)
		fl.devLink[i] = outer
		testenv.Run(t, "ip", "link", "add", outer, "type", "veth", "peer", "name", fmt.Sprintf("dev%d", i+1), "netns", h.Name)
		testenv.Run(t, "ip", "link", "set", outer, "netns", d.Peer.Name)
		d.Peer.Run(t, "ip", "addr", "add", fmt.Sprintf("172.31.%d.1/30", i+1), "dev", outer)
		d.Peer.Run(t, "ip", "link", "set", outer, "up")
		d.Peer.Run(t, "ip", "route", "add", foHostAddr+"/32", "via", fmt.Sprintf("172.31.%d.2", i+1))
		h.Run(t, "sysctl", "-qw", fmt.Sprintf("net.ipv4.conf.dev%d.rp_filter=0", i+1))
		h.Run(t, "ip", "addr", "add", fmt.Sprintf("172.31.%d.2/30", i+1), "dev", fmt.Sprintf("dev%d", i+1))
		h.Run(t, "ip", "link", "set", fmt.Sprintf("dev%d", i+1), "up")
		h.Run(t, "ip", "route", "add", "100.64.0.0/10", "via", fmt.Sprintf("172.31.%d.1", i+1), "src", foHostAddr, "metric", strconv.Itoa(10*(i+1)))
	}
	lan := fl.lab.AddHost(t, "lan", "folan", "192.168.77.2/24")
	disk := espDisk(t, im, "tunneler.json", failoverConfig(t))
	fl.vm = vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768, Lab: fl.lab,
		NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: foBoxLANMAC}}})
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range fl.dev {
				t.Logf("device %s's charon:\n%s", d.Opts.Name, tail(d.Log(), 30))
			}
		}
	})
	if _, err := fl.vm.Console.Expect(bannerRe, bootTimeout); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"hq-r1", "hq-r2"} {
		waitStatus(t, fl.vm, 0, n, "green", 120*time.Second)
	}
	fl.api = newFoAPI(t, lan, "https://"+foBoxLAN)
	return fl
}

// cut takes device i off as a power or link failure would: its WAN link
// and its link to the host go down, nothing is said to the box.
func (fl *failoverLab) cut(t testing.TB, i int) {
	t.Helper()
	fl.dev[i].Peer.Run(t, "ip", "link", "set", "eth0", "down")
	fl.dev[i].Peer.Run(t, "ip", "link", "set", fl.devLink[i], "down")
}

// restoreLink brings device i's link to the host back, with the route to
// the host that went with it when the link went down.
func (fl *failoverLab) restoreLink(t testing.TB, i int) {
	t.Helper()
	fl.dev[i].Peer.Run(t, "ip", "link", "set", fl.devLink[i], "up")
	fl.dev[i].Peer.Run(t, "ip", "route", "replace", foHostAddr+"/32", "via", fmt.Sprintf("172.31.%d.2", i+1))
}

// foAPI is a JSON API session from the LAN host.
type foAPI struct {
	c          *http.Client
	base, csrf string
}

func newFoAPI(t testing.TB, h *vmtest.Host, base string) *foAPI {
	t.Helper()
	a := &foAPI{c: vmtest.RecordHTTP(t, h.HTTPClient()), base: base}
	a.c.Jar, _ = cookiejar.New(nil)
	a.csrf = apiLogin(t, a.c, base, adminPW, 90*time.Second)
	return a
}

// apiLogin logs c (with a cookie jar) in to the JSON API at base,
// trying again while the web UI comes up, and returns the CSRF token.
func apiLogin(t testing.TB, c *http.Client, base, password string, within time.Duration) string {
	t.Helper()
	var last string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(time.Second) {
		resp, err := c.PostForm(base+"/api/login", url.Values{"password": {password}})
		if err != nil {
			last = err.Error()
			continue
		}
		var ans struct {
			CSRF string `json:"csrf"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err == nil && resp.StatusCode == 200 && ans.CSRF != "" {
			return ans.CSRF
		}
		last = fmt.Sprintf("%s %v", resp.Status, err)
	}
	t.Fatalf("login to the JSON API at %s: %s", base, last)
	return ""
}

func (a *foAPI) get(t testing.TB, path string, accept string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", a.base+path, nil)
	req.Header.Set("Accept", accept)
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
	}
	return string(b)
}

func (a *foAPI) overview(t testing.TB) webui.Status {
	t.Helper()
	var st webui.Status
	if err := json.Unmarshal([]byte(a.get(t, "/api/overview", "application/json")), &st); err != nil {
		t.Fatalf("/api/overview: %v", err)
	}
	return st
}

func (a *foAPI) restart(t testing.TB, site string, n int) {
	t.Helper()
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/sites/%s/remotes/%d/restart", a.base, site, n), strings.NewReader("confirm=yes"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", a.csrf)
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatalf("restart remote: %v", err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("restart remote %d of %s: %s %s", n, site, resp.Status, b)
	}
}

// waitSite polls the JSON API until cond holds for site hq.
func (a *foAPI) waitSite(t testing.TB, what string, timeout time.Duration, cond func(webui.Status, webui.SiteStatus) bool) (webui.Status, time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := a.overview(t)
		for _, s := range st.Sites {
			if s.Name == "hq" && cond(st, s) {
				return st, time.Now()
			}
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(struct {
				Sites  []webui.SiteStatus
				Alarms []webui.Alarm
			}{st.Sites, st.Alarms}, "", " ")
			t.Fatalf("%s: not within %s; the API says:\n%s", what, timeout, b)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func hasAlarm(st webui.Status, key string) bool {
	for _, a := range st.Alarms {
		if a.Key == key {
			return true
		}
	}
	return false
}

var pingReplyRe = regexp.MustCompile(`(?m)^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)`)

// longestGap is the longest time without a ping reply in [from, to]
// (ping -D timestamps), less one interval: the time traffic did not flow.
// Loss that lasts until to counts too.
func longestGap(out string, from, to time.Time) time.Duration {
	start, end := float64(from.UnixNano())/1e9, float64(to.UnixNano())/1e9
	prev := start
	var gap float64
	for _, m := range pingReplyRe.FindAllStringSubmatch(out, -1) {
		ts, _ := strconv.ParseFloat(m[1], 64)
		if ts < start || ts > end {
			continue
		}
		gap = max(gap, ts-prev-foInterval)
		prev = ts
	}
	gap = max(gap, end-prev-foInterval)
	return time.Duration(max(gap, 0) * float64(time.Second))
}

// failoverRun is the whole scenario; the test asserts on it, the bench
// reports its gaps.
type failoverRun struct {
	failover, failback time.Duration
	cleartext          string
	sent, received     int
}

func runFailover(t testing.TB, fl *failoverLab, check func(what string, ok bool, detail string)) failoverRun {
	t.Helper()
	var run failoverRun
	pingUntil(t, fl.host, insideAddr, 30*time.Second)
	st, _ := fl.api.waitSite(t, "remote 1 active and healthy", 30*time.Second, func(st webui.Status, s webui.SiteStatus) bool {
		return s.Active == 1 && len(s.Remotes) == 2 && s.Remotes[0].Healthy && s.Remotes[0].Monitor == "up"
	})
	check("no alarm before the cut", len(st.Alarms) == 0, fmt.Sprint(st.Alarms))

	// The box's own WAN tap (a bridge does not see frames between its
	// ports): no packet to or from the site's network or the overlay in
	// clear, from before the cut to after the failback.
	wan := startCapture(t, fl.lab.NS, boxTap(t, fl.lab), "net 10.9.0.0/24 or net 100.64.0.0/10")
	p := &pinger{cmd: fl.host.Command("ping", "-D", "-n", "-i", strconv.FormatFloat(foInterval, 'f', -1, 64), insideAddr)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	time.Sleep(2 * time.Second)

	// The primary goes away: no DELETE, no DPD answer, nothing.
	cutAt := time.Now()
	fl.cut(t, 0)
	st, movedAt := fl.api.waitSite(t, "failover to remote 2", 60*time.Second, func(st webui.Status, s webui.SiteStatus) bool {
		return s.Active == 2 && hasAlarm(st, "remote:hq-r1")
	})
	t.Logf("failover: remote 2 active and alarm remote:hq-r1 raised %.1fs after the cut", movedAt.Sub(cutAt).Seconds())
	html := fl.api.get(t, "/overview", "text/html")
	check("the Overview shows the raised alarm", strings.Contains(html, `data-key="remote:hq-r1"`) && !strings.Contains(html, `id="no-alarms"`), tail(html, 20))
	// A site's remotes are tunnels like any other on the IPsec page and in
	// /metrics: both named, the secondary up.
	ipsecPage := fl.api.get(t, "/ipsec", "text/html")
	check("the IPsec page lists both remotes of the site", strings.Contains(ipsecPage, "hq-r1") && strings.Contains(ipsecPage, "hq-r2"), tail(ipsecPage, 20))
	metrics := fl.api.get(t, "/metrics", "text/plain")
	// (The primary's IKE SA may still look established until DPD says
	// otherwise: failover follows the monitor, not IKE.)
	for _, want := range []string{`tunneler_tunnel_up{tunnel="hq-r1",peer="192.0.2.2"} `, `tunneler_tunnel_up{tunnel="hq-r2",peer="192.0.2.3"} 1`} {
		check("/metrics has "+want, strings.Contains(metrics, want), metrics)
	}
	// The console menu's sites entry says the same.
	fl.vm.Console.SendLine("")
	_, err := fl.vm.Console.Expect(regexp.MustCompile(`Enter an option:`), 20*time.Second)
	if err == nil {
		fl.vm.Console.SendLine("16")
		_, err = fl.vm.Console.Expect(regexp.MustCompile(`Site hq: remote 2 active\r?\n(?s:.*?)WARNING remote:hq-r1 since [0-9: -]+ UTC: [^\r\n]*\r?\n`), 20*time.Second)
	}
	check("the console's sites entry shows remote 2 active and the alarm", err == nil, fmt.Sprint(err, "\n", fl.vm.Console.Tail(20)))
	time.Sleep(3 * time.Second) // traffic flows through the secondary
	pre := p.out.String()
	run.failover = longestGap(pre, cutAt, time.Now())

	// The primary's WAN comes back; the operator restarts its tunnel (the
	// JSON API's "restart ipsec remote") rather than wait for charon's
	// next retransmit, then its link to the host comes back too.
	fl.dev[0].Peer.Run(t, "ip", "link", "set", "eth0", "up")
	fl.api.restart(t, "hq", 1)
	fl.api.waitSite(t, "remote 1 healthy again", 90*time.Second, func(st webui.Status, s webui.SiteStatus) bool {
		return s.Remotes[0].Healthy && s.Remotes[0].Colour == webui.Green
	})
	backAt := time.Now()
	fl.restoreLink(t, 0)
	st, failbackAt := fl.api.waitSite(t, "failback to remote 1 after the hold-down", 60*time.Second, func(st webui.Status, s webui.SiteStatus) bool {
		return s.Active == 1 && len(st.Alarms) == 0
	})
	t.Logf("failback: remote 1 active again and alarms cleared %.1fs after it was healthy (hold-down 5 s)", failbackAt.Sub(backAt).Seconds())
	check("failback waits for the hold-down", failbackAt.Sub(backAt) >= 4*time.Second, failbackAt.Sub(backAt).String())
	html = fl.api.get(t, "/overview", "text/html")
	check("the Overview shows no active alarm after recovery", strings.Contains(html, `id="no-alarms"`), tail(html, 20))
	var raised, cleared bool
	for _, c := range st.AlarmHistory {
		raised = raised || c.Key == "remote:hq-r1" && c.Kind == "raised"
		cleared = cleared || c.Key == "remote:hq-r1" && c.Kind == "cleared"
	}
	check("the alarm history has remote:hq-r1 raised and cleared", raised && cleared, fmt.Sprint(st.AlarmHistory))
	// Longer than the monitor needs to call remote 1 down (3 probes at 1 s):
	// the site must stay on it.
	time.Sleep(6 * time.Second)
	end := time.Now()
	run.sent, run.received, _ = p.stop(t)
	run.failback = longestGap(p.out.String(), backAt, end)
	st = fl.api.overview(t)
	check("the site stays on remote 1 with no alarm after the failback", len(st.Sites) == 1 && st.Sites[0].Active == 1 && len(st.Alarms) == 0, fmt.Sprint(st.Sites, st.Alarms))
	pingUntil(t, fl.host, insideAddr, 10*time.Second)
	run.cleartext = wan.stop(t)
	return run
}

// boxTap is the box's one tap on the lab's wan bridge.
func boxTap(t testing.TB, lab *vmtest.Lab) string {
	t.Helper()
	out := lab.NS.Run(t, "ip", "-o", "link", "show", "master", "wan")
	var taps []string
	for _, f := range strings.Fields(out) {
		if n := strings.TrimSuffix(f, ":"); strings.HasPrefix(n, "tap") && n != f {
			taps = append(taps, n)
		}
	}
	if len(taps) != 1 {
		t.Fatalf("want the box's one tap on the wan bridge, found %v in:\n%s", taps, out)
	}
	return taps[0]
}

// Two stock strongSwan devices serve one site; the primary is cut off (its
// links downed, nothing said to the box): the monitor notices, the box
// fails over to the secondary and raises an alarm, traffic resumes; the
// primary comes back, the box fails back after the hold-down and clears
// the alarm. A continuous ping shows the gaps; the box's WAN tap shows no
// packet in clear at any time.
func TestSiteFailoverAndFailback(t *testing.T) {
	requireTools(t)
	fl := newFailoverLab(t)
	run := runFailover(t, fl, func(what string, ok bool, detail string) {
		if !ok {
			t.Errorf("%s: no\n%s", what, detail)
		}
	})
	t.Logf("continuous ping (%.1fs interval): %d sent, %d received; failover gap %.1fs, failback gap %.1fs",
		foInterval, run.sent, run.received, run.failover.Seconds(), run.failback.Seconds())
	if run.failover == 0 || run.failover > 10*time.Second {
		t.Errorf("failover gap %s: want some loss (the primary was cut) and under 10 s (goal 5 s)", run.failover)
	}
	if run.failback > 3*time.Second {
		t.Errorf("failback gap %s: want under 3 s (the secondary carries the traffic until the policies move)", run.failback)
	}
	if run.cleartext != "" {
		t.Errorf("cleartext on the box's WAN during the switch:\n%s", run.cleartext)
	}
	out := fl.vm.Console.Output()
	for _, want := range []string{"ALARM remote:hq-r1 raised", "ALARM remote:hq-r1 cleared", "failover remote 2 (from remote 1)", "failback remote 1 (from remote 2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the console never said %q", want)
		}
	}
}

// BenchmarkFailover reports the loss gaps of TestSiteFailoverAndFailback's
// scenario (monitors at 1 s, continuous ping at 0.2 s).
func BenchmarkFailover(b *testing.B) {
	var fo, fb float64
	for i := 0; i < b.N; i++ {
		fl := newFailoverLab(b)
		run := runFailover(b, fl, func(what string, ok bool, detail string) {
			if !ok {
				b.Fatalf("%s: no\n%s", what, detail)
			}
		})
		fo += run.failover.Seconds()
		fb += run.failback.Seconds()
		fl.vm.Kill()
	}
	b.ReportMetric(fo/float64(b.N), "s-failover-gap")
	b.ReportMetric(fb/float64(b.N), "s-failback-gap")
}
