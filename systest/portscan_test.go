package systest

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

// nmap scans the box's WAN address from a lab host and returns the
// grepable report.
func nmap(t *testing.T, h *vmtest.Host, args ...string) string {
	t.Helper()
	return nmapAt(t, h, boxWAN, "8000", args...)
}

func nmapAt(t *testing.T, h *vmtest.Host, target, rate string, args ...string) string {
	t.Helper()
	full := append([]string{"-n", "-Pn", "--max-retries", "1", "--min-rate", rate, "-oG", "-"}, args...)
	out, err := h.Command("nmap", append(full, target)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var portRe = regexp.MustCompile(`(\d+)/(open|closed|open\|filtered|unfiltered)/(tcp|udp|[a-z0-9-]*)`)

// answering lists the ports nmap saw answer (open, or closed: a RST or an
// ICMP unreachable is an answer too). open|filtered means silence.
func answering(report string) []string {
	var out []string
	for _, m := range portRe.FindAllStringSubmatch(report, -1) {
		if m[2] == "open" || m[2] == "closed" || m[2] == "unfiltered" {
			out = append(out, m[1]+"/"+m[3]+" "+m[2])
		}
	}
	return out
}

// The WAN side is a constrained entry point: from an address that is not a
// configured peer nothing answers, TCP or UDP, not even a reset; from the
// peer's address only IKE answers; the web UI is unreachable from WAN.
// The box has its usual two NICs: with a single NIC the web UI shares the
// WAN behind its login (DESIGN.md), limited by admin.allowed_networks.
func TestWANPortScan(t *testing.T) {
	requireTools(t)
	testenv.RequireCommand(t, "nmap")
	im := vmtest.LoadImage(t)
	lab := vmtest.NewLab(t)
	site := vmtest.RemoteSiteOptions{Name: "scan1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN,
		SiteNet: "10.9.0.0/24", PSK: sitePSK}
	rs := vmtest.NewRemoteSite(t, lab, "wan", site)
	// IPv6 on the outside (issue 15): the WAN also has a static IPv6
	// address, and a second site peers with the box over IPv6 only.
	site6 := vmtest.RemoteSiteOptions{Name: "scan6", WANAddr: "fd00:2::2/64", BoxAddr: boxWAN6,
		SiteNet: "10.9.1.0/24", PSK: sitePSK + "6"}
	rs6 := vmtest.NewRemoteSite(t, lab, "wan", site6)
	stranger := lab.AddHost(t, "wan", "stranger", "192.0.2.99/24")
	stranger.Run(t, "ip", "addr", "add", "fd00:2::99/64", "dev", "eth0", "nodad")
	monitor := lab.AddHost(t, "lan", "monitor", "192.168.50.2/24") // scrapes /metrics
	cfg := strings.Replace(boxConfig(t, site, site6), `"interfaces": [`,
		`"interfaces": [
    {"role": "lan", "mac": "52:54:00:00:0b:01", "mode": "static", "address": "192.168.50.1/24"},`, 1)
	cfg = strings.Replace(cfg, `"gateway": "192.0.2.1"}`,
		`"gateway": "192.0.2.1", "ipv6": "static", "ipv6_address": "`+boxWAN6+`/64", "ipv6_gateway": "fd00:2::1"}`, 1)
	disk := diskWithESPFile(t, im, "tunneler.json", cfg)
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768,
		Lab: lab, NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: "52:54:00:00:0b:01"}}})
	banner := expectBanner(t, vm, "direct")
	expect(t, vm, regexp.MustCompile(`tunnel name=scan1 status=green`), 90*time.Second)
	metrics := vmtest.RecordHTTP(t, monitor.HTTPClient())

	t.Run("IPv6 outside", func(t *testing.T) {
		if !strings.Contains(banner, boxWAN6+"/64") {
			t.Errorf("the banner does not show the WAN's IPv6 address %s:\n%s", boxWAN6, banner)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("IPv6 site's charon:\n%s", tail(rs6.Log(), 60))
			}
		})
		waitStatus(t, vm, 0, "scan6", "green", 90*time.Second)
		pingUntil(t, rs6.Inside, "100.64.0.1", 20*time.Second)
		sas := rs6.Swanctl(t, "--list-sas")
		if !strings.Contains(sas, boxWAN6) {
			t.Errorf("the IPv6 site's SA is not with %s:\n%s", boxWAN6, sas)
		}
	})
	// A stranger's IPv6 scan finds nothing open, and the IPv6 peer
	// reaches IKE only.
	t.Run("stranger TCP over IPv6", func(t *testing.T) {
		before := wanDrops(t, metrics, "https://192.168.50.1")
		if a := answering(nmapAt(t, stranger, boxWAN6, "8000", "-6", "-sS", "-p-")); len(a) > 0 {
			t.Errorf("TCP ports answer a stranger over IPv6: %v", a)
		}
		// The probes reached the box and were refused there, not lost
		// on the way (which would prove nothing).
		if after := wanDrops(t, metrics, "https://192.168.50.1"); after < before+10000 {
			t.Errorf("/metrics: in_drop went from %d to %d over a 65535-port IPv6 scan from a stranger", before, after)
		}
	})
	t.Run("stranger UDP over IPv6", func(t *testing.T) {
		if a := answering(nmapAt(t, stranger, boxWAN6, "8000", "-6", "-sU", "-p-")); len(a) > 0 {
			t.Errorf("UDP ports answer a stranger over IPv6: %v", a)
		}
	})
	t.Run("IPv6 peer", func(t *testing.T) {
		if a := answering(nmapAt(t, rs6.Peer, boxWAN6, "8000", "-6", "-sS", "-p", "22,53,80,443,8443,9100")); len(a) > 0 {
			t.Errorf("TCP ports answer the IPv6 peer: %v", a)
		}
		out, _ := rs6.Peer.Command("nmap", "-6", "-n", "-Pn", "-sU", "-p", "500", "-oG", "-", boxWAN6).CombinedOutput()
		if !strings.Contains(strings.Join(answering(string(out)), " "), "500/udp open") {
			t.Errorf("IKE on UDP 500 does not answer the IPv6 peer:\n%s", out)
		}
	})

	t.Run("stranger TCP", func(t *testing.T) {
		before := wanDrops(t, metrics, "https://192.168.50.1")
		if a := answering(nmap(t, stranger, "-sS", "-p-")); len(a) > 0 {
			t.Errorf("TCP ports answer a stranger on the WAN: %v", a)
		}
		// Every probe of the 65535 ports was refused and counted; the box
		// says so on /metrics. Some probes may be lost on the way under
		// emulation, so ask for a good part of them, not all.
		after := wanDrops(t, metrics, "https://192.168.50.1")
		t.Logf("in_drop on /metrics: %d before the scan, %d after", before, after)
		if after < before+10000 {
			t.Errorf("/metrics: in_drop went from %d to %d over a 65535-port scan from a stranger", before, after)
		}
	})
	t.Run("stranger UDP", func(t *testing.T) {
		if a := answering(nmap(t, stranger, "-sU", "-p-")); len(a) > 0 {
			t.Errorf("UDP ports answer a stranger on the WAN: %v", a)
		}
	})
	t.Run("peer", func(t *testing.T) {
		tcp := answering(nmap(t, rs.Peer, "-sS", "-p-"))
		if len(tcp) > 0 {
			t.Errorf("TCP ports answer the peer: %v (want none: the web UI must not listen toward the peer)", tcp)
		}
		udp := answering(nmap(t, rs.Peer, "-sU", "-p-"))
		// IKE answers only what it can parse; ask 500 at an unhurried pace
		// so a slow (emulated) box is not mistaken for a silent one.
		ike := rs.Peer.Command("nmap", "-n", "-Pn", "-sU", "-p", "500", "-oG", "-", boxWAN)
		if out, err := ike.CombinedOutput(); err == nil {
			udp = append(udp, answering(string(out))...)
		}
		for _, a := range udp {
			if !strings.HasPrefix(a, "500/") && !strings.HasPrefix(a, "4500/") {
				t.Errorf("UDP port %s answers the peer; only IKE (500, 4500) may", a)
			}
		}
		if !strings.Contains(strings.Join(udp, " "), "500/udp open") {
			t.Errorf("IKE on UDP 500 does not answer the configured peer: %v", udp)
		}
	})
	// Decrypted traffic from the remote site reaches only the router's
	// intercepts (none before enrollment), the DNS resolver and ICMP echo
	// on the inside address: port 53 may answer (closed, no resolver yet),
	// nothing else may.
	t.Run("through the tunnel", func(t *testing.T) {
		tcp := answering(nmapAt(t, rs.Inside, "100.64.0.1", "2000", "-sS", "-p-"))
		udp := answering(nmapAt(t, rs.Inside, "100.64.0.1", "2000", "-sU", "-p", "1-1024"))
		// DNS must answer (open, or closed while no resolver runs): it
		// shows the scan really crossed the tunnel both ways.
		if !strings.Contains(strings.Join(tcp, " "), "53/tcp") {
			t.Errorf("DNS on the inside address did not answer through the tunnel (%v): the scan proves nothing", tcp)
		}
		for _, a := range append(tcp, udp...) {
			if !strings.HasPrefix(a, "53/") {
				t.Errorf("%s answers through the tunnel; only DNS (53) and the router's intercepts may", a)
			}
		}
		if out, err := rs.Inside.Command("ping", "-n", "-c", "2", "-W", "3", "100.64.0.1").CombinedOutput(); err != nil {
			t.Errorf("ICMP echo to the inside address through the tunnel: %v\n%s", err, out)
		}
	})
	t.Run("web UI from WAN", func(t *testing.T) {
		for _, h := range []*vmtest.Host{stranger, rs.Peer} {
			if a := answering(nmap(t, h, "-sS", "-p", "80,443,8443,9100")); len(a) > 0 {
				t.Errorf("web ports answer %s on the WAN: %v", h.Name, a)
			}
		}
	})
}

// wanDrops reads the packets the firewall refused on input (in_drop: on
// the WAN, anything not IKE/ESP from a peer) from the box's /metrics.
func wanDrops(t *testing.T, c *http.Client, base string) uint64 {
	t.Helper()
	return firewallCounter(t, c, base, "in_drop")
}

var firewallCounterRe = regexp.MustCompile(`(?m)^tunneler_firewall_packets_total\{rule="([^"]+)",action="[^"]*"\} (\d+)$`)

// firewallCounter reads one rule's packet counter from the box's /metrics,
// as a monitoring system on the LAN would. It waits for the web UI to be
// listening.
func firewallCounter(t *testing.T, c *http.Client, base, rule string) uint64 {
	t.Helper()
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		var resp *http.Response
		if resp, err = c.Get(base + "/metrics"); err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, m := range firewallCounterRe.FindAllSubmatch(body, -1) {
			if string(m[1]) == rule {
				n, _ := strconv.ParseUint(string(m[2]), 10, 64)
				return n
			}
		}
		t.Fatalf("/metrics has no counter for rule %s:\n%s", rule, body)
	}
	t.Fatalf("GET %s/metrics: %v", base, err)
	return 0
}
