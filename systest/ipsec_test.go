package systest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

const (
	boxWAN    = "192.0.2.10"
	boxWANMAC = "52:54:00:00:0a:10"
	boxWAN6   = "fd00:2::10" // the WAN's IPv6 address where a test gives it one
	sitePSK   = "Kp7rW2vX9qLm4TzB8nYc3HdF6jGs"
)

// boxConfig is the tunneler.json an operator would drop on the ESP: a
// static WAN and one tunnel per site, each with its own peer and network.
func boxConfig(t *testing.T, sites ...vmtest.RemoteSiteOptions) string {
	t.Helper()
	hash := adminHash(t, "correct horse battery staple")
	var tunnels []string
	for _, s := range sites {
		tunnels = append(tunnels, fmt.Sprintf(`{
      "name": %q,
      "peer_address": %q,
      "psk": %q,
      "remote_networks": [%q]
    }`, s.Name, strings.Split(s.WANAddr, "/")[0], vmtest.RegisterSecret(s.PSK), s.SiteNet))
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
`, boxWANMAC, boxWAN, hash, strings.Join(tunnels, ",\n    "))
}

// A remote site running stock strongSwan brings up a tunnel with the box
// (which initiates), and a host behind the site reaches the box's inside
// address through it: policy mode, ESP in the box's kernel.
func TestTunnelToRemoteSite(t *testing.T) {
	tunnelToRemoteSite(t, 768)
}

// The box runs in 128 MB of RAM (issue 20): the board kernel has its
// drivers built in, so the initramfs carries no modules and unpacks into
// what is left; the tunnel comes up and carries pings as with more memory.
func TestTunnelIn128MB(t *testing.T) {
	out := tunnelToRemoteSite(t, 128)
	if m := memRe.FindStringSubmatch(out); m != nil {
		t.Logf("128 MB box: %s MiB in use at the banner", m[1])
	}
}

// tunnelToRemoteSite boots a box with memMiB of RAM peering with a stock
// strongSwan site and checks pings across the tunnel. It returns the
// console up to the banner.
func tunnelToRemoteSite(t *testing.T, memMiB int) string {
	requireTools(t)
	im := vmtest.LoadImage(t)
	lab := vmtest.NewLab(t)
	site := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN,
		SiteNet: "10.9.0.0/24", PSK: sitePSK}
	rs := vmtest.NewRemoteSite(t, lab, "wan", site)
	disk := diskWithESPFile(t, im, "tunneler.json", boxConfig(t, site))
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: memMiB,
		Lab: lab, NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("remote site's charon:\n%s", tail(rs.Log(), 60))
		}
	})
	banner := expectBanner(t, vm, "direct")
	expectTunnelCarriesTraffic(t, vm, rs, "site1")
	return banner
}

// expectTunnelCarriesTraffic waits for the box to report the tunnel to
// site green, then pings the box's inside address from behind the site
// and checks that the site's charon lists the CHILD SA.
func expectTunnelCarriesTraffic(t *testing.T, vm *vmtest.VM, rs *vmtest.RemoteSite, site string) {
	t.Helper()
	expect(t, vm, regexp.MustCompile(`tunnel name=`+site+` status=green`), 90*time.Second)

	var err error
	var out []byte
	for i := 0; i < 10; i++ {
		out, err = rs.Inside.Command("ping", "-n", "-c", "3", "-W", "2", "100.64.0.1").CombinedOutput()
		if err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatalf("no ping from behind the remote site to the box's inside address: %v\n%s", err, out)
	}
	if sas := rs.Swanctl(t, "--list-sas"); !strings.Contains(sas, "INSTALLED") || !strings.Contains(sas, "100.64.0.0/10") {
		t.Errorf("the remote site lists no installed CHILD SA for 100.64.0.0/10:\n%s", sas)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
