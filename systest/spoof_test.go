package systest

import (
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

// A peer of site A sending with site B's source address reaches nothing,
// and the drop shows in in_ipsec_spoof on /metrics. site1's administrator
// adds site2's network to its own side of the tunnel (local_ts, one fixed
// reqid): the box narrows the SA to site1's network, but site1's device
// (kernel-libipsec) still sends packets from site2's network through that
// SA. The box must answer none of them and count them; site2 itself keeps
// working.
func TestSiteCannotSpoofAnotherSite(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	lab := vmtest.NewLab(t)
	site1 := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN, SiteNet: "10.9.0.0/24", PSK: sitePSK,
		SpoofNet: "10.10.0.0/24"}
	site2 := vmtest.RemoteSiteOptions{Name: "site2", WANAddr: "192.0.2.3/24", BoxAddr: boxWAN, SiteNet: "10.10.0.0/24", PSK: sitePSK + "2"}
	rs1 := vmtest.NewRemoteSite(t, lab, "wan", site1)
	rs2 := vmtest.NewRemoteSite(t, lab, "wan", site2)
	monitor := lab.AddHost(t, "lan", "monitor", "192.168.50.2/24")
	cfg := strings.Replace(boxConfigTunnels(t, boxTunnel{site: site1}, boxTunnel{site: site2}), `"interfaces": [`,
		`"interfaces": [
    {"role": "lan", "mac": "52:54:00:00:0b:01", "mode": "static", "address": "192.168.50.1/24"},`, 1)
	disk := espDisk(t, im, "tunneler.json", cfg)
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768,
		Lab: lab, NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: "52:54:00:00:0b:01"}}})
	expectBanner(t, vm, "direct")
	for _, name := range []string{"site1", "site2"} {
		waitStatus(t, vm, 0, name, "green", 90*time.Second)
	}
	pingUntil(t, rs1.Inside, insideAddr, 20*time.Second)
	pingUntil(t, rs2.Inside, insideAddr, 20*time.Second)

	// A host on site1's side with an address of site2's network.
	spoofer := "10.10.0.99"
	rs1.Inside.Run(t, "ip", "addr", "add", spoofer+"/32", "dev", "eth0")
	rs1.Peer.Run(t, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0")
	metrics := vmtest.RecordHTTP(t, monitor.HTTPClient())
	before := firewallCounter(t, metrics, "https://192.168.50.1", "in_ipsec_spoof")
	_, child0 := siteIDs(t, rs1)
	out, err := rs1.Inside.Command("ping", "-n", "-c", "10", "-i", "0.2", "-W", "1", "-I", spoofer, insideAddr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), " 0 received") {
		t.Errorf("ping from site1 with site2's address %s was answered:\n%s", spoofer, out)
	}
	after := firewallCounter(t, metrics, "https://192.168.50.1", "in_ipsec_spoof")
	t.Logf("in_ipsec_spoof on /metrics: %d before, %d after 10 spoofed pings", before, after)
	if after-before < 10 {
		t.Errorf("in_ipsec_spoof rose by %d over 10 spoofed pings, want 10 (site1's charon:\n%s)", after-before, tail(rs1.Log(), 20))
	}
	// The pings went through site1's SA, not a new one for site2's net.
	if _, child1 := siteIDs(t, rs1); child1 != child0 {
		t.Errorf("site1 made CHILD_SA #%d for the spoofed network (was #%d): the test sent nothing through the old SA", child1, child0)
	}
	// site2's own traffic, from the same addresses, still passes.
	pingUntil(t, rs2.Inside, insideAddr, 10*time.Second)
}
