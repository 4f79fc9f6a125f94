package vmtest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Two remote sites peered with each other show that the site helper sets
// up stock strongSwan, its network and its routes right, before any test
// leans on it to check the box.
func TestRemoteSitesPeerWithEachOther(t *testing.T) {
	lab := NewLab(t)
	psk := "test-only-shared-secret-4f9b2c7d1e"
	a := NewRemoteSite(t, lab, "wan", RemoteSiteOptions{Name: "sa", WANAddr: "192.0.2.2/24", BoxAddr: "192.0.2.3",
		SiteNet: "10.9.1.0/24", BoxNets: "10.9.2.0/24", PSK: psk})
	b := NewRemoteSite(t, lab, "wan", RemoteSiteOptions{Name: "sb", WANAddr: "192.0.2.3/24", BoxAddr: "192.0.2.2",
		SiteNet: "10.9.2.0/24", BoxNets: "10.9.1.0/24", PSK: psk})
	out := a.Initiate(t)
	if !strings.Contains(out, "completed successfully") {
		t.Fatalf("initiate:\n%s\n--- a ---\n%s\n--- b ---\n%s", out, a.Log(), b.Log())
	}
	var err error
	for i := 0; i < 10; i++ {
		if err = a.Inside.Command("ping", "-c1", "-W1", "10.9.2.2").Run(); err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no ping from behind site a to behind site b through the tunnel: %v", err)
	}
	if sas := b.Swanctl(t, "--list-sas"); !strings.Contains(sas, "INSTALLED") {
		t.Errorf("site b lists no installed CHILD SA:\n%s", sas)
	}
}

// A device with more connections loads each with its own identity,
// network and key, and owns an address in each network.
func TestRemoteSiteLoadsMoreConns(t *testing.T) {
	lab := NewLab(t)
	var more []SiteConn
	for i := 1; i <= 3; i++ {
		more = append(more, SiteConn{Name: fmt.Sprintf("m%d", i), ID: fmt.Sprintf("m%d.site.example", i),
			Net: fmt.Sprintf("10.100.%d.0/24", i), PSK: fmt.Sprintf("test-only-more-secret-%d-7c1e9a", i)})
	}
	s := NewRemoteSite(t, lab, "wan", RemoteSiteOptions{Name: "sm", WANAddr: "192.0.2.2/24", BoxAddr: "192.0.2.10",
		SiteNet: "10.9.0.0/24", PSK: "test-only-shared-secret-4f9b2c7d1e", More: more})
	conns := s.Swanctl(t, "--list-conns")
	addrs := s.Peer.Run(t, "ip", "-4", "addr")
	for _, m := range more {
		for _, want := range []string{m.Name + ": IKEv2", "id: " + m.ID, "local:  " + m.Net} {
			if !strings.Contains(conns, want) {
				t.Errorf("connection %s: the device's charon lists no %q:\n%s", m.Name, want, conns)
			}
		}
		if gw := strings.TrimSuffix(siteAddr(m.Net, 1), "/24"); !strings.Contains(addrs, gw+"/24") {
			t.Errorf("the device has no address %s in %s:\n%s", gw, m.Net, addrs)
		}
	}
}
