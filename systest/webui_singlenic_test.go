package systest

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

// With one NIC the web UI shares the WAN interface: init then binds the
// WAN's addresses, and only the firewall keeps the UI from the IPsec peer
// and from sources outside admin.allowed_networks. A host in the allowed
// network reaches it (HTTPS, and HTTP redirecting); the configured peer and
// a host outside the allowed network get nothing on 80/443.
func TestWebUISingleNICBehindFirewall(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	lab := vmtest.NewLab(t)
	site := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", SiteNet: "10.9.0.0/24", PSK: sitePSK}
	cfg := boxConfig(t, site)
	cfg = strings.Replace(cfg, `"admin": {`, `"admin": {"allowed_networks": ["192.0.2.3/32"], `, 1)
	disk := diskWithESPFile(t, im, "tunneler.json", cfg)
	peer := lab.AddHost(t, "wan", "peer", "192.0.2.2/24")
	admin := lab.AddHost(t, "wan", "admin", "192.0.2.3/24")
	other := lab.AddHost(t, "wan", "other", "192.0.2.4/24")
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768,
		Lab: lab, NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}}})
	expectBanner(t, vm, "direct")

	c := vmtest.RecordHTTP(t, admin.HTTPClient())
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		var resp *httpResp
		if resp, err = get(c, "https://"+boxWAN+"/login"); err == nil {
			if resp.status != 200 {
				t.Errorf("https://%s/login from the allowed host: %d", boxWAN, resp.status)
			}
			break
		}
	}
	if err != nil {
		t.Fatalf("the allowed host does not reach the web UI on the shared WAN: %v\n%s", err, vm.Console.Tail(30))
	}
	if resp, err := get(c, "http://"+boxWAN+"/login"); err != nil || resp.status/100 != 3 || !strings.HasPrefix(resp.location, "https://") {
		t.Errorf("http://%s/login from the allowed host: %+v %v; want a redirect to https", boxWAN, resp, err)
	}
	for name, h := range map[string]*vmtest.Host{"the IPsec peer": peer, "a host outside allowed_networks": other} {
		for _, port := range []string{"80", "443"} {
			hp := net.JoinHostPort(boxWAN, port)
			err := h.Do(func() error {
				conn, err := net.DialTimeout("tcp", hp, 3*time.Second)
				if err == nil {
					conn.Close()
				}
				return err
			})
			if err == nil {
				t.Errorf("%s connects to %s", name, hp)
			}
		}
	}
}

type httpResp struct {
	status   int
	location string
}

func get(c *http.Client, u string) (*httpResp, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return &httpResp{resp.StatusCode, resp.Header.Get("Location")}, nil
}
