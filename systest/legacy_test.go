package systest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tunneler/tunneler/scripts/vmtest"
	"github.com/tunneler/tunneler/webui"
)

// awsPSK is the AWS-style device's key (each remote device has its own).
const awsPSK = "Qm7-Rt2vXe9LpZ4sKw8NbY3cHd"

// browserLegacyDevice runs on the first-boot box of the browser test (up,
// logged in): a remote device as AWS's "compatibility" sample configures
// one, IKEv1 main mode with aes128-sha1-modp1024 for IKE and ESP, starts
// connecting to the box. The tunnel form refuses its proposals and names
// the legacy preset; with the default proposals the box refuses the
// device's offer and the IPsec page names the same preset; with the
// preset and the acknowledgment ticked the tunnel comes up, carries
// traffic, and is marked "weak crypto" on the Overview and the IPsec page
// (screenshots in build/artifacts).
func (w *webLab) browserLegacyDevice(t *testing.T, b *browser) {
	vmtest.RegisterSecret(awsPSK)
	rs := vmtest.NewRemoteSite(t, w.lab, "wan", vmtest.RemoteSiteOptions{Name: "aws", WANAddr: "192.0.2.4/24", BoxAddr: boxWAN,
		SiteNet: "10.12.0.0/24", PSK: awsPSK, IKEVersion: 1, Proposals: "aes128-sha1-modp1024", ESP: "aes128-sha1-modp1024", Start: true})
	run, shot := b.run, b.shot
	openDetails := chromedp.Evaluate(`document.querySelector("#tunnelform details").open = true`, nil)
	fill := []chromedp.Action{chromedp.Navigate(w.base + "/tunnels/new"), chromedp.WaitVisible("#tunnelform", chromedp.ByID), openDetails,
		chromedp.SetValue("#name", "aws", chromedp.ByID), chromedp.SetValue("#peer_address", "192.0.2.4", chromedp.ByID), // the form suggests a name
		chromedp.SendKeys("#psk", awsPSK, chromedp.ByID), chromedp.SetValue("#remote_networks", "10.12.0.0/24", chromedp.ByID),
		chromedp.SetValue("#ike_version", "ikev1", chromedp.ByID), chromedp.SetValue("#initiation", "responder", chromedp.ByID)}

	// The device's proposals typed in: refused, and the way through named.
	run("legacy proposals refused", append(fill, chromedp.SetValue("#ike_proposals", "aes128-sha1-modp1024", chromedp.ByID),
		chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#f-ike_proposals .err", chromedp.ByQuery), shot("legacy-form-refused"))...)
	if msg := b.errText("ike_proposals"); !strings.Contains(msg, `"legacy" preset`) || !strings.Contains(msg, "weak-crypto acknowledgment") {
		t.Errorf("the form's refusal of aes128-sha1-modp1024 does not name the legacy preset: %q", msg)
	}

	// The default proposals: saved, and the device's offer refused by the
	// box, which names the preset that would take it.
	run("default proposals", append(fill, chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#apply-state", chromedp.ByID))...)
	w.login(t)
	st := w.waitTunnel(t, "aws", 2*time.Minute, func(ts webui.TunnelStatus) bool { return ts.Mismatch != nil && ts.Mismatch.Preset != "" })
	if m := st.Mismatch; m.Preset != "legacy" || !m.PresetWeak || st.Colour == "green" || st.WeakCrypto {
		t.Errorf("without the preset: %s, mismatch %+v, weak crypto %v; want refused, naming the legacy preset", st.Colour, m, st.WeakCrypto)
	}
	if !strings.Contains(st.Reason, `"legacy" preset and the weak-crypto acknowledgment`) {
		t.Errorf("the reason does not name the preset: %q", st.Reason)
	}
	t.Logf("without the preset: %s", st.Reason)
	run("refusal on the IPsec page", chromedp.Navigate(w.base+"/ipsec?q=aws"), chromedp.WaitVisible("#ipsec-aws .mismatch", chromedp.ByQuery),
		chromedp.ScrollIntoView("#ipsec-aws", chromedp.ByID), shot("legacy-refused-ipsec"))

	// The preset, acknowledged: up, and marked. The device gave up after
	// the refusal (swanctl's one keying try): it is asked to connect
	// again, as its admin would. (The box stays the responder: in IKEv1
	// quick mode an initiator sends one KE, the first ESP proposal's
	// group, and this device takes group 2 only.)
	run("legacy preset", chromedp.Navigate(w.base+"/tunnels/aws/edit"), chromedp.WaitVisible("#tunnelform", chromedp.ByID),
		chromedp.SetValue("#preset", "legacy", chromedp.ByID), chromedp.Click("#accept_weak_crypto", chromedp.ByID),
		chromedp.Click(`input[name="confirm"]`, chromedp.ByQuery), shot("legacy-form"),
		chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#apply-state", chromedp.ByID))
	start := time.Now()
	st = w.waitTunnel(t, "aws", 2*time.Minute, func(ts webui.TunnelStatus) bool {
		if ts.Colour != "green" {
			cmd := rs.Peer.Command("swanctl", "--initiate", "--child", "tunneler", "--timeout", "10", "--uri", "unix://"+rs.Socket())
			cmd.Env = append(cmd.Environ(), "STRONGSWAN_CONF="+rs.Conf())
			cmd.Run() // fails until the box has the preset loaded
		}
		return ts.Colour == "green"
	})
	t.Logf("with the legacy preset: green %.1fs after the save; IKE %s/%s/%s", time.Since(start).Seconds(), st.IKE.Encryption, st.IKE.Integrity, st.IKE.DHGroup)
	if !st.WeakCrypto {
		t.Error("the legacy tunnel is not marked weak crypto in /api/ipsec")
	}
	pingUntil(t, rs.Inside, insideAddr, 20*time.Second)
	for _, p := range []struct{ path, name string }{{"/overview", "legacy-weak-overview"}, {"/ipsec?q=aws", "legacy-weak-ipsec"}} {
		var mark string
		run(p.name, chromedp.Navigate(w.base+p.path), chromedp.WaitVisible("#weak-aws", chromedp.ByID),
			chromedp.ScrollIntoView("#weak-aws", chromedp.ByID), chromedp.Text("#weak-aws", &mark, chromedp.ByID), shot(p.name))
		if mark != "weak crypto" {
			t.Errorf("%s marks aws %q, want \"weak crypto\"", p.path, mark)
		}
	}
	var site1Marked int
	run("site1 unmarked", chromedp.Navigate(w.base+"/overview"), chromedp.WaitVisible("#weak-aws", chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("#weak-site1").length`, &site1Marked))
	if site1Marked != 0 {
		t.Error("the Overview marks site1, on the default proposals, weak crypto")
	}
}

// waitTunnel polls /api/ipsec (logged in) until tunnel name's status
// satisfies ok, and returns it.
func (w *webLab) waitTunnel(t *testing.T, name string, within time.Duration, ok func(webui.TunnelStatus) bool) webui.TunnelStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	var last webui.TunnelStatus
	for {
		resp, err := w.client.Get(w.base + "/api/ipsec?q=" + name)
		if err == nil {
			var st webui.Status
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			for _, ts := range st.Tunnels {
				if ts.Name == name {
					if last = ts; ok(ts) {
						return ts
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tunnel %s: not there within %s (last: %s %q, %v)\nconsole:\n%s", name, within, last.Colour, last.Reason, err, w.vm.Console.Tail(30))
		}
		time.Sleep(time.Second)
	}
}
