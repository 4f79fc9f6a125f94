package systest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
	"github.com/tunneler/tunneler/webui"
)

// headEndTunnels is a head-end's tunnels: s0001 peers with a stock
// strongSwan device (192.0.2.2, 10.9.0.0/24) so a change to it is applied
// to the point of it being up again; the others peer with devices that do
// not exist (198.18.0.0/15, networks from 172.16.0.0/12), as the issue's
// bar allows: charon keeps trying them, as it would for sites that are down.
func headEndTunnels(n int) []scaleTunnel {
	ts := []scaleTunnel{{Name: "s0001", Peer: "192.0.2.2", PSK: sitePSK, Nets: []string{"10.9.0.0/24"}}}
	for i := 2; i <= n; i++ {
		// A key per remote device: Validate refuses a key used twice.
		psk := vmtest.RegisterSecret(fmt.Sprintf("%s-%04d", sitePSK, i))
		ts = append(ts, scaleTunnel{Name: fmt.Sprintf("s%04d", i), Peer: fmt.Sprintf("198.18.%d.%d", i/250, i%250+1),
			PSK: psk, Nets: []string{fmt.Sprintf("172.%d.%d.0/24", 16+i/256, i%256)}})
	}
	return ts
}

// policiesLineRe is the box's log line once the XFRM policies of the
// whole config are in (appliance/sites).
var policiesLineRe = regexp.MustCompile(`ipsec policies installed"? tunnels=(\d+)`)

// BenchmarkHeadEnd boots a box with a tunneler.json of 10, 100 and 1,000
// tunnels (issue 18; sub-benchmarks "10tunnels"...: a "=" in the name
// would reach qemu's -qmp path through the temporary dir and break it)
// and reports: qemu start to the log line saying every
// XFRM policy is in; a change to one tunnel (its DPD delay through the
// tunnel form's JSON API) from the save's request to the drivers having
// applied it (the save's server time plus the apply's "network" step), and
// to the apply progress saying it is up again; the median server time
// (Server-Timing) of the Overview, IPsec, Tunnels and /metrics pages; the
// box's memory in use and charon's resident memory.
func BenchmarkHeadEnd(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("%dtunnels", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchHeadEnd(b, n)
			}
		})
	}
}

func benchHeadEnd(b *testing.B, n int) {
	im := vmtest.LoadImage(b)
	lab := vmtest.NewLab(b)
	vmtest.NewRemoteSite(b, lab, "wan", vmtest.RemoteSiteOptions{Name: "he", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN,
		SiteNet: "10.9.0.0/24", PSK: sitePSK})
	lan := lab.AddHost(b, "lan", "helan", "192.168.77.2/24")
	disk := espDisk(b, im, "tunneler.json", boxConfigScale(b, headEndTunnels(n)))
	start := time.Now()
	vm := vmtest.Start(b, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768, Lab: lab,
		NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: boxLANMAC}}})
	defer vm.Kill()
	for {
		m, err := vm.Console.Expect(policiesLineRe, 5*time.Minute)
		if err != nil {
			b.Fatalf("no %q line: %v\n%s", policiesLineRe, err, vm.Console.Tail(30))
		}
		if m[1] == fmt.Sprint(n) {
			break
		}
	}
	boot := time.Since(start)
	api := newFoAPI(b, lan, "https://"+boxLAN)
	waitGreen := func(what string) {
		var d struct {
			Counts struct{ Green int } `json:"counts"`
		}
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
			json.Unmarshal([]byte(api.get(b, "/api/overview", "application/json")), &d)
			if d.Counts.Green >= 1 {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: s0001 not green within 3 minutes\n%s", what, vm.Console.Tail(30))
			}
		}
	}
	waitGreen("at boot")

	// One tunnel changed: its DPD delay, through the tunnel form.
	v := hundredTunnelForm(1)
	v.Set("name", "s0001")
	v.Del("remote_id")
	v.Set("remote_networks", "10.9.0.0/24")
	v.Set("dpd_delay", "17s")
	posted := time.Now()
	saveServer := api.postForm(b, "/api/tunnels/s0001/edit", v)
	evs := api.waitApplied(b, 3*time.Minute)
	up := time.Since(posted)
	applied := saveServer + stepTime(b, evs, "config", "network")

	// Pages, as the browser asks for them (HTML), five times each.
	pages := map[string]time.Duration{}
	for _, path := range []string{"/overview", "/ipsec", "/tunnels", "/metrics"} {
		var ds []time.Duration
		for range 5 {
			req, _ := http.NewRequest("GET", api.base+path, nil)
			req.Header.Set("Accept", "text/html")
			resp, err := api.c.Do(req)
			if err != nil {
				b.Fatalf("GET %s: %v", path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("GET %s: %s", path, resp.Status)
			}
			ds = append(ds, serverTime(b, resp))
		}
		slices.Sort(ds)
		pages[path] = ds[len(ds)/2]
	}
	st := api.overview(b)
	if st.System.CharonRSS == 0 {
		b.Fatalf("the Overview's system info has no charon_rss: %+v", st.System)
	}
	b.ReportMetric(boot.Seconds(), "s-qemu-to-policies-installed")
	b.ReportMetric(float64(applied.Microseconds())/1000, "ms-one-tunnel-save-to-applied")
	b.ReportMetric(up.Seconds(), "s-one-tunnel-save-to-up-again")
	for path, unit := range map[string]string{"/overview": "ms-server-overview", "/ipsec": "ms-server-ipsec",
		"/tunnels": "ms-server-tunnels", "/metrics": "ms-server-metrics"} {
		b.ReportMetric(float64(pages[path].Microseconds())/1000, unit)
	}
	b.ReportMetric(float64(st.System.MemUsed)/(1<<20), "MiB-box-in-use")
	b.ReportMetric(float64(st.System.CharonRSS)/(1<<20), "MiB-charon-rss")
}

// stepTime is the box's time from the first event of step from to the
// "ok" event of step to, in an apply's progress (the box's own clock).
func stepTime(t testing.TB, evs []webui.ApplyEvent, from, to string) time.Duration {
	t.Helper()
	var a, z time.Time
	for _, e := range evs {
		if e.Step == from && a.IsZero() {
			a = e.Time
		}
		if e.Step == to && e.State == "ok" {
			z = e.Time
		}
	}
	if a.IsZero() || z.IsZero() {
		t.Fatalf("the apply's progress has no %q then %q ok: %v", from, to, evs)
	}
	return z.Sub(a)
}
