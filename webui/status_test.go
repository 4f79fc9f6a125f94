package webui

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/ipsec/explain"
)

var testCounters = []FirewallCounter{
	{Rule: "in_drop", Action: FirewallDrop, What: "to the box, not allowed", Packets: 65812, Bytes: 2632480},
	{Rule: "in_ike", Action: FirewallAccept, What: "IKE from configured peers", Packets: 31, Bytes: 9120},
}

// The firewall's counters per rule reach the Overview (drops marked and
// bold), its JSON answer and /metrics.
func TestFirewallCounters(t *testing.T) {
	h := newHarness(t)
	h.box.firewall = testCounters
	h.setup()
	_, _, page := h.get("/overview")
	for _, want := range []string{`<section id="firewall">`, `<tr id="fw-in_drop" class="drop"><td>in_drop</td><td>drop</td><td><strong>65812</strong>`,
		`<tr id="fw-in_ike"><td>in_ike</td><td>accept</td><td>31</td>`, "to the box, not allowed"} {
		if !strings.Contains(page, want) {
			t.Errorf("/overview lacks %q", want)
		}
	}
	_, _, body := h.get("/api/overview")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/api/overview: %v\n%s", err, body)
	}
	if len(st.Firewall) != 2 || st.Firewall[0] != testCounters[0] {
		t.Errorf("/api/overview firewall = %+v, want %+v", st.Firewall, testCounters)
	}
	_, _, metrics := h.get("/metrics")
	for _, want := range []string{
		"# TYPE tunneler_firewall_packets_total counter",
		`tunneler_firewall_packets_total{rule="in_drop",action="drop"} 65812`,
		`tunneler_firewall_packets_total{rule="in_ike",action="accept"} 31`,
		`tunneler_firewall_bytes_total{rule="in_drop",action="drop"} 2632480`,
		"tunneler_boot_problems 0",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	h.box.firewall, h.box.fwErr = nil, "netlink: permission denied"
	if _, _, page := h.get("/overview"); !strings.Contains(page, "Counters could not be read: netlink: permission denied") {
		t.Errorf("/overview does not say why the counters are missing")
	}
}

var testProblems = []BootProblem{{
	Area: "provisioning", Text: "The provisioning file tunneler.env on the boot partition was not imported",
	Details: []string{"line 2: IPSEC_REMOTENET: 10.1.0.0/33 is not a network", "line 3: IPSEC_PSK: is too short"},
	File:    "tunneler.env", KeptAs: "tunneler.env.invalid",
}, {Area: "/perm", Text: "/perm: the partition is neither blank nor ext4"}}

// Boot problems show on the setup wizard once the code is accepted (not
// before: the page behind no code says nothing about the box), on the
// Overview after setup, in both JSON answers, and as a count in /metrics.
func TestBootProblems(t *testing.T) {
	h := newHarness(t)
	h.box.problems = testProblems
	if _, _, body := h.get("/setup"); strings.Contains(body, "tunneler.env") || strings.Contains(body, `id="problems"`) {
		t.Errorf("the setup code page shows boot problems before the code:\n%s", body)
	}
	h.post("/setup", url.Values{"code": {"ABCD2345"}})
	_, path, page := h.get("/setup/password")
	if path != "/setup/password" {
		t.Fatalf("after the code: at %s", path)
	}
	wantHTML := []string{`<section class="errors" id="problems">`,
		"The provisioning file tunneler.env on the boot partition was not imported",
		"<li>line 3: IPSEC_PSK: is too short</li>", "<code>tunneler.env.invalid</code>",
		"/perm: the partition is neither blank nor ext4"}
	for _, want := range wantHTML {
		if !strings.Contains(page, want) {
			t.Errorf("/setup/password lacks %q", want)
		}
	}
	if i, j := strings.Index(page, `id="problems"`), strings.Index(page, `id="f-password"`); i < 0 || j < i {
		t.Errorf("the problems do not come before the password field")
	}
	_, _, body := h.get("/api/setup/password")
	var sd setupData
	if err := json.Unmarshal([]byte(body), &sd); err != nil {
		t.Fatalf("/api/setup/password: %v\n%s", err, body)
	}
	if len(sd.Problems) != 2 || sd.Problems[0].KeptAs != "tunneler.env.invalid" || len(sd.Problems[0].Details) != 2 {
		t.Errorf("/api/setup/password problems = %+v", sd.Problems)
	}

	h = newHarness(t)
	h.box.problems = testProblems
	h.setup()
	_, _, page = h.get("/overview")
	for _, want := range wantHTML {
		if !strings.Contains(page, want) {
			t.Errorf("/overview lacks %q", want)
		}
	}
	_, _, body = h.get("/api/overview")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Problems) != 2 || st.Problems[0].File != "tunneler.env" {
		t.Errorf("/api/overview problems = %+v (%v)", st.Problems, err)
	}
	if _, _, m := h.get("/metrics"); !strings.Contains(m, "tunneler_boot_problems 2\n") {
		t.Errorf("/metrics does not count the boot problems")
	}
	// Without problems the Overview has no problem box at all.
	h.box.problems = nil
	if _, _, page := h.get("/overview"); strings.Contains(page, `id="problems"`) {
		t.Errorf("/overview shows a problem box with no problems")
	}
}

// A mismatch explained with both sides named shows on the IPsec page and
// in its JSON answer: the same snapshot, read twice.
func TestMismatchShown(t *testing.T) {
	h := newHarness(t)
	h.box.mismatch = &explain.Explanation{Kind: explain.ESPProposals, Side: explain.Ours,
		Summary:  "ESP (phase 2) proposals do not match: this box accepts none of the remote device's",
		Offered:  []string{"ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/NO_EXT_SEQ"},
		Accepted: []string{"ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ"}, NoPreset: true,
		NAT: []string{"remote host is behind NAT"}, VendorIDs: []string{"XAuth", "DPD"}}
	h.setup()
	_, _, page := h.get("/ipsec")
	for _, want := range []string{"Down: ESP (phase 2) proposals do not match: this box accepts none",
		"<dt>Remote device offered</dt><dd><code>ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/NO_EXT_SEQ</code>",
		"<dt>This tunnel accepts</dt><dd><code>ESP:AES_GCM_16_256/ECP_384/NO_EXT_SEQ</code>",
		"none: the device offers only algorithms this box does not allow",
		"<dt>NAT seen</dt><dd>remote host is behind NAT</dd>", "<dt>Device vendor IDs</dt><dd>XAuth, DPD</dd>"} {
		if !strings.Contains(page, want) {
			t.Errorf("/ipsec lacks %q", want)
		}
	}
	_, _, body := h.get("/api/ipsec")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/api/ipsec: %v\n%s", err, body)
	}
	m := st.Tunnels[0].Mismatch
	if m == nil || m.Side != explain.Ours || m.Offered[0] != "ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/NO_EXT_SEQ" || !m.NoPreset {
		t.Errorf("/api/ipsec mismatch = %+v", m)
	}
}
