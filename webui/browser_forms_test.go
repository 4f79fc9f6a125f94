package webui

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSiteProfileAndImport drives Chromium through the forms of
// issue 18 against the fake box: a profile and a site with two remotes
// made entirely through forms, a wrong value in each kind of field shown
// next to it, and an import with errors listed by line that saves
// nothing. Screenshots go to build/artifacts/webui-forms/.
func TestBrowserSiteProfileAndImport(t *testing.T) {
	b := newBrowser(t, "webui-forms")
	run, shot, errText := b.run, b.shot, b.errText
	h := newHarness(t)
	h.setup()
	base := h.ts.URL
	run("login", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", "correct horse battery", chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(".counts", chromedp.ByQuery))

	// The profile: a bad name, a weak key and a bad lifetime, each named
	// next to its field; then a generated key and good values.
	run("profile with mistakes", chromedp.Navigate(base+"/profiles/new"), chromedp.WaitVisible("#profileform", chromedp.ByID),
		chromedp.SetAttributeValue("#name", "pattern", ".*", chromedp.ByID), // past the browser's own check, to the box's
		chromedp.SendKeys("#name", "Bad Name", chromedp.ByID), chromedp.SendKeys("#psk", "password", chromedp.ByID),
		chromedp.SetValue("#preset", "fortigate", chromedp.ByID), chromedp.SendKeys("#ike_lifetime", "forever", chromedp.ByID),
		chromedp.SendKeys("#dpd_delay", "1s", chromedp.ByID),
		chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#f-psk .err", chromedp.ByQuery), shot("profile-errors"))
	for field, want := range map[string]string{"name": "not a valid name", "psk": "too short", "ike_lifetime": "not a duration", "dpd_delay": "outside the range"} {
		if msg := errText(field); !strings.Contains(msg, want) {
			t.Errorf("profile %s: %q, want %q", field, msg, want)
		}
	}
	run("profile fixed", chromedp.SetValue("#name", "fortigate-hq", chromedp.ByID), chromedp.SetValue("#ike_lifetime", "4h", chromedp.ByID),
		chromedp.SetValue("#dpd_delay", "30s", chromedp.ByID), chromedp.Click("[data-gen]", chromedp.ByQuery),
		chromedp.WaitVisible("#f-psk small.warn", chromedp.ByQuery), shot("profile-generated-key"),
		chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#apply-state", chromedp.ByID))

	// The site: two remotes of that profile; a bad second address and a
	// monitor target outside the site's networks, next to their fields.
	run("site with mistakes", chromedp.Navigate(base+"/sites/new"), chromedp.WaitVisible("#siteform", chromedp.ByID),
		chromedp.SendKeys("#name", "hq", chromedp.ByID), chromedp.SendKeys("#remote_networks", "10.9.0.0/24", chromedp.ByID),
		chromedp.SendKeys("#remote1_peer_address", "192.0.2.51", chromedp.ByID), chromedp.SetValue("#remote1_profile", "fortigate-hq", chromedp.ByID),
		chromedp.SendKeys("#remote2_peer_address", "192.0.2.999", chromedp.ByID), chromedp.SetValue("#remote2_profile", "fortigate-hq", chromedp.ByID),
		chromedp.SendKeys("#monitor_target", "10.99.0.1", chromedp.ByID), chromedp.SendKeys("#hold_down", "2d", chromedp.ByID),
		shot("site-form"), chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#f-remote2_peer_address .err", chromedp.ByQuery), shot("site-errors"))
	for field, want := range map[string]string{"remote2_peer_address": "neither an IP address nor a DNS name",
		"monitor_target": "not in the site", "hold_down": "not a duration"} {
		if msg := errText(field); !strings.Contains(msg, want) {
			t.Errorf("site %s: %q, want %q", field, msg, want)
		}
	}
	run("site fixed", chromedp.SetValue("#remote2_peer_address", "192.0.2.52", chromedp.ByID),
		chromedp.SetValue("#monitor_target", "10.9.0.1", chromedp.ByID), chromedp.SetValue("#hold_down", "30s", chromedp.ByID),
		chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#apply-state", chromedp.ByID),
		chromedp.Navigate(base+"/sites"), chromedp.WaitVisible("#site-hq", chromedp.ByID), shot("sites-list"))
	c, _, _ := h.box.Config()
	if len(c.Sites) != 1 || len(c.Sites[0].Remotes) != 2 || c.Sites[0].Remotes[1].Profile != "fortigate-hq" || len(c.Profiles) != 1 {
		t.Fatalf("saved: sites %+v, profiles %+v", c.Sites, c.Profiles)
	}

	// An import with errors lists them by line and saves nothing.
	saves := h.box.saveCount()
	file := "name,peer_address,psk,remote_networks\n" +
		"b1,203.0.113.31,Xk2-Wd8pLr5tQm3vBn7cZs4Hy9,10.41.0.0/24\n" +
		"b2,203.0.113.32,short,10.9.0.0/25\n"
	var problems string
	run("import with errors", chromedp.Navigate(base+"/import"), chromedp.WaitVisible("#importform", chromedp.ByID),
		chromedp.SetValue("#data", file, chromedp.ByID), chromedp.Click("#import", chromedp.ByID),
		chromedp.WaitVisible("#import-problems", chromedp.ByID), chromedp.Text("#import-problems", &problems, chromedp.ByID), shot("import-errors"))
	for _, want := range []string{"Nothing was saved", "line 3: tunnels[2].psk:", "sites[0].remote_networks[0]: 10.9.0.0/24 overlaps 10.9.0.0/25 (tunnels[2]"} {
		if !strings.Contains(problems, want) {
			t.Errorf("import problems lack %q:\n%s", want, problems)
		}
	}
	if h.box.saveCount() != saves {
		t.Error("an import with errors saved")
	}
}
