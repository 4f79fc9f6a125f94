package xfrm

import (
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/config/configtest"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// A change to one tunnel of a thousand touches that tunnel's policies
// only; adding a tunnel adds its own (issue 18, item 2).
func TestOneChangeOfAThousandTouchesOnlyItsPolicies(t *testing.T) {
	policiesOf := func(c config.Config) []Policy {
		t.Helper()
		c = c.WithDefaults()
		d, err := FromConfig(c, ipsec.ReqIDs(c.AllTunnels()), nil)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := Policies(d.Tunnels)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	c := configtest.Scale(1000, 0, 0)
	var kernel []netlink.XfrmPolicy
	for _, p := range policiesOf(c) {
		kernel = append(kernel, *p.toNetlink())
	}

	c.Tunnels[499].RemoteNetworks[0] = config.MustPrefix("10.200.0.0/24")
	c.Tunnels = append([]config.Tunnel{{Name: "new", PeerAddress: "203.0.113.50",
		RemoteNetworks: []config.Prefix{config.MustPrefix("10.201.0.0/24")}}}, c.Tunnels...)
	plan := PlanPolicies(policiesOf(c), kernel)
	touched := map[string]bool{}
	for _, p := range plan.Add {
		touched[p.Tunnel] = true
	}
	for _, p := range plan.Delete {
		if p.Dst != netip.MustParsePrefix("10.1.243.0/24") && p.Src != netip.MustParsePrefix("10.1.243.0/24") {
			t.Errorf("deleted %s, which is not t500's old network's", p)
		}
	}
	if len(touched) != 2 || !touched["t500"] || !touched["new"] || len(plan.Delete) == 0 {
		t.Errorf("the plan adds policies of %v and deletes %d; want t500's and new's only, and t500's old ones", touched, len(plan.Delete))
	}
}
