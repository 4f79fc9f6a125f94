package webui

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
)

// The network form sets the WAN's IPv6; mistakes come back next to the
// field, and the form shows what is saved.
func TestSettingsNetworkIPv6(t *testing.T) {
	h := newHarness(t)
	tok := h.setup()
	network := func(extra url.Values) url.Values {
		v := url.Values{"csrf": {tok}, "confirm": {"yes"}, "wan_mode": {"dhcp"}, "lan_mode": {"dhcp"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	saves := h.box.saveCount()
	st, _, body := h.post("/settings/network", network(url.Values{"wan_ipv6": {"static"}, "wan_ipv6_address": {"2001:db8:1::10/64"}}))
	if st != 422 || !strings.Contains(fieldErr(body, "wan_ipv6_gateway"), "needs the IPv6 default gateway") || h.box.saveCount() != saves {
		t.Errorf("static IPv6 without gateway: %d gateway error %q", st, fieldErr(body, "wan_ipv6_gateway"))
	}
	st, _, body = h.post("/settings/network", network(url.Values{"wan_ipv6": {"static"}, "wan_ipv6_address": {"2001:db8:1::10/64"}, "wan_ipv6_gateway": {"fe80::1"}}))
	if st != 200 || h.box.saveCount() != saves+1 {
		t.Fatalf("static IPv6: %d %s", st, body)
	}
	var wan config.Interface
	for _, in := range h.box.cfg.Interfaces {
		if in.Role == config.RoleWAN {
			wan = in
		}
	}
	if wan.IPv6 != config.IPv6Static || wan.IPv6Address != config.MustPrefix("2001:db8:1::10/64") || wan.IPv6Gateway != config.MustAddr("fe80::1") {
		t.Errorf("saved WAN %+v", wan)
	}
	_, _, page := h.get("/settings")
	for _, want := range []string{`<option value="static" selected>Static</option></select>`, `value="2001:db8:1::10/64"`, `value="fe80::1"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the network form does not show %s", want)
		}
	}
	// SLAAC drops the static address and gateway.
	if st, _, body := h.post("/settings/network", network(url.Values{"wan_ipv6": {"slaac"}, "wan_ipv6_address": {"2001:db8:1::10/64"}})); st != 200 {
		t.Fatalf("slaac: %d %s", st, body)
	}
	for _, in := range h.box.cfg.Interfaces {
		if in.Role == config.RoleWAN && (in.IPv6 != config.IPv6SLAAC || !in.IPv6Address.IsZero()) {
			t.Errorf("after slaac: %+v", in)
		}
	}
}

// The Overview and /api/overview show the WAN's addresses, IPv6 ones
// included, as the snapshot has them.
func TestOverviewShowsWANAddresses(t *testing.T) {
	h := newHarness(t)
	h.setup()
	h.box.mu.Lock()
	h.box.ifaces = []InterfaceStatus{{Role: "wan", Name: "enp0s3", State: "up",
		Addresses: []string{"192.0.2.10/24", "2001:db8:1::10/64"}, How: "static, gw 192.0.2.1, IPv6 static, gw fe80::1"}}
	h.box.mu.Unlock()
	_, _, page := h.get("/overview")
	if !strings.Contains(page, `<dd id="if-wan">192.0.2.10/24 2001:db8:1::10/64 (static, gw 192.0.2.1, IPv6 static, gw fe80::1)</dd>`) {
		t.Errorf("the Overview does not show the WAN's addresses:\n%s", page)
	}
	_, _, js := h.get("/api/overview")
	var got struct {
		Interfaces []InterfaceStatus `json:"interfaces"`
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil || len(got.Interfaces) != 1 || strings.Join(got.Interfaces[0].Addresses, " ") != "192.0.2.10/24 2001:db8:1::10/64" {
		t.Errorf("/api/overview lacks the WAN's addresses: %s", js)
	}
}
