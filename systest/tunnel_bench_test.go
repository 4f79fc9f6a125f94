package systest

import (
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

// BenchmarkTunnel boots a box peering with one remote site (policy mode)
// and reports the seconds from the box's banner to the first ping reply
// across the tunnel (a host behind the site pinging the inside address),
// and from charon's SIGKILL (console debug entry) to the tunnel green again.
func BenchmarkTunnel(b *testing.B) {
	site := vmtest.RemoteSiteOptions{Name: "bench", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: sitePSK}
	var first, green float64
	for i := 0; i < b.N; i++ {
		vm, sites, _ := bootBoxWithSites(b, boxTunnel{site: site})
		rs := sites[0]
		if _, err := vm.Console.Expect(bannerRe, bootTimeout); err != nil {
			b.Fatal(err)
		}
		banner := time.Now()
		pingUntil(b, rs.Inside, insideAddr, 120*time.Second, "-W", "0.5")
		first += time.Since(banner).Seconds()
		waitStatus(b, vm, 0, "bench", "green", 10*time.Second)

		mark := len(vm.Console.Output())
		killed := killCharon(b, vm)
		waitSeen(b, vm, mark, "bench", "orange", 10*time.Second)
		at, _ := waitStatus(b, vm, mark, "bench", "green", 60*time.Second)
		green += at.Sub(killed).Seconds()
		pingUntil(b, rs.Inside, insideAddr, 30*time.Second)
		vm.Kill()
	}
	n := float64(b.N)
	b.ReportMetric(first/n, "s-banner-to-first-packet")
	b.ReportMetric(green/n, "s-charon-sigkill-to-green")
}
