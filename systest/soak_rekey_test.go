package systest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

// TestSoakRekeys forces TUNNELER_SOAK_REKEYS CHILD_SA rekeys (100 by
// default) and one IKE_SA rekey for every five of them from the remote
// site, a few seconds apart, under a continuous ping from behind the site
// to the box's inside address: the rekeys are counted on the site's
// charon, and not one ping may be lost.
func TestSoakRekeys(t *testing.T) {
	soakOnly(t)
	requireTools(t)
	rekeys := soakCount(t, "TUNNELER_SOAK_REKEYS", 100)
	site := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: sitePSK}
	vm, sites, _ := bootBoxWithSites(t, boxTunnel{site: site})
	rs := sites[0]
	expectBanner(t, vm, "direct")
	waitStatus(t, vm, 0, "site1", "green", 90*time.Second)
	pingUntil(t, rs.Inside, insideAddr, 30*time.Second)

	ike0, child0 := siteIDs(t, rs)
	start := time.Now()
	p := startPing(t, rs.Inside, insideAddr, "0.2")
	time.Sleep(2 * time.Second)
	for i := 1; i <= rekeys; i++ {
		rs.Swanctl(t, "--rekey", "--child", "tunneler")
		time.Sleep(2 * time.Second)
		if i%5 == 0 {
			rs.Swanctl(t, "--rekey", "--ike", "tunneler")
			time.Sleep(3 * time.Second)
		}
	}
	time.Sleep(2 * time.Second)
	sent, recv, out := p.stop(t)
	ike1, child1 := siteIDs(t, rs)
	children, ikes := child1-child0, ike1-ike0
	soakFigures(t, fmt.Sprintf("rekeys under a continuous ping: %d CHILD_SA and %d IKE_SA rekeys counted on the site in %s; ping %d sent, %d lost",
		children, ikes, time.Since(start).Round(time.Second), sent, sent-recv))
	if children < rekeys || ikes < rekeys/5 {
		t.Errorf("the site rekeyed %d CHILD_SAs and %d IKE_SAs, want %d and %d", children, ikes, rekeys, rekeys/5)
	}
	if recv != sent {
		t.Errorf("the continuous ping lost %d of %d across the rekeys\n%s", sent-recv, sent, tail(out, 20))
	}
	waitStatus(t, vm, 0, "site1", "green", 10*time.Second)
}
