package systest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// trialLAN is a LAN address the browser's host cannot reach until the
// test gives it an address in that network too.
const trialLAN = "192.168.78.1"

// historyEntry is one generation as GET /api/settings/history lists it.
type historyEntry struct {
	Generation   int      `json:"generation"`
	Source       string   `json:"source"`
	RestoredFrom int      `json:"restored_from"`
	Summary      []string `json:"summary"`
	Current      bool     `json:"current"`
}

// history reads the box's generations through base with client.
func history(t testing.TB, client *http.Client, base string) (int, []historyEntry) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/settings/history", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s/api/settings/history: %v", base, err)
	}
	defer resp.Body.Close()
	var v struct {
		Generation int            `json:"generation"`
		History    []historyEntry `json:"history"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s/api/settings/history: %s, %v", base, resp.Status, err)
	}
	return v.Generation, v.History
}

func findGeneration(h []historyEntry, gen int) (historyEntry, bool) {
	for _, e := range h {
		if e.Generation == gen {
			return e, true
		}
	}
	return historyEntry{}, false
}

// waitAnswers waits until base's login page answers through client.
func waitAnswers(t testing.TB, client *http.Client, base string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := client.Get(base + "/login")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer after %s: %v", base, within, err)
		}
		time.Sleep(2 * time.Second)
	}
}

// proposeLAN submits the Settings page's network form in the browser: the
// LAN address on trial for minutes. The page may never load again from
// this address, so only the submission is waited for.
func (b *browser) proposeLAN(base, addr, minutes string) {
	b.run("propose LAN "+addr+" on trial", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible("#netform", chromedp.ByID),
		chromedp.SetValue("#lan_mode", "static", chromedp.ByID),
		chromedp.SetValue("#lan_address", addr+"/24", chromedp.ByID),
		chromedp.SetAttributeValue(`#netform input[name="trial"]`, "checked", "checked", chromedp.ByQuery),
		chromedp.SetValue(`#netform input[name="trial_minutes"]`, minutes, chromedp.ByQuery),
		chromedp.Click(`#f-net_confirm input[name="confirm"]`, chromedp.ByQuery),
		chromedp.Submit("#netform", chromedp.ByID))
}

// browserTrialLapses: in Chromium, the LAN address changed on trial to one
// the browser cannot reach and left unconfirmed goes back by itself: the
// box answers on the old address with the old settings and the history
// shows both generations. The same change, confirmed from a second
// session on the new address, stays. Screenshots of the countdown banner
// and the history.
func (w *webLab) browserTrialLapses(t *testing.T, b *browser) {
	w.login(t)
	gen0, _ := history(t, w.client, w.base)

	start := time.Now()
	b.proposeLAN(w.base, trialLAN, "1")
	m := expect(t, w.vm, regexp.MustCompile(`TRIAL: generation (\d+) not confirmed in time: back to the settings of generation (\d+) \(saved as generation (\d+)`), 4*time.Minute)
	t.Logf("the unconfirmed trial went back by itself %.0fs after it was proposed", time.Since(start).Seconds())
	var trialGen, backTo, saved int
	fmt.Sscan(m[1], &trialGen)
	fmt.Sscan(m[2], &backTo)
	fmt.Sscan(m[3], &saved)
	if trialGen != gen0+1 || backTo != gen0 || saved != gen0+2 {
		t.Errorf("trial generation %d went back to %d saved as %d; want %d back to %d saved as %d", trialGen, backTo, saved, gen0+1, gen0, gen0+2)
	}
	waitAnswers(t, w.client, w.base, 2*time.Minute)
	w.login(t)
	gen, h := history(t, w.client, w.base)
	if gen != gen0+2 {
		t.Errorf("after the lapse the box runs generation %d, want %d", gen, gen0+2)
	}
	if e, ok := findGeneration(h, gen0+1); !ok || !strings.Contains(strings.Join(e.Summary, "; "), trialLAN) {
		t.Errorf("the history does not show the trial generation %d naming %s: %+v", gen0+1, trialLAN, h)
	}
	if e, ok := findGeneration(h, gen0+2); !ok || e.RestoredFrom != gen0 || !e.Current {
		t.Errorf("the history does not show generation %d as the current one, restored from %d: %+v", gen0+2, gen0, h)
	}
	b.run("history after the lapse", chromedp.Navigate(w.base+"/settings#history"),
		chromedp.WaitVisible("#history-table", chromedp.ByID), chromedp.ScrollIntoView("#history", chromedp.ByID), b.shot("trial-lapsed-history"))

	// The same change again, confirmed from a second session: the LAN host
	// gets an address in the new network and logs in there.
	w.lan.Run(t, "ip", "addr", "add", "192.168.78.2/24", "dev", "eth0")
	b.proposeLAN(w.base, trialLAN, "5")
	newBase := "https://" + trialLAN
	waitAnswers(t, w.client, newBase, 2*time.Minute)
	b.run("second session", chromedp.Navigate(newBase+"/login"), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", webAdminPass, chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible("#trial-banner", chromedp.ByID), b.shot("trial-countdown"))
	var left string
	b.run("countdown", chromedp.Text("#trial-left", &left, chromedp.ByID))
	if !regexp.MustCompile(`\d`).MatchString(left) {
		t.Errorf("the trial banner's countdown says %q", left)
	}
	// The page with the banner has cards too: wait for the one without
	// it, or the screenshot reads a page mid-navigation.
	b.run("confirm", chromedp.Click("#trial-confirm", chromedp.ByID), chromedp.WaitNotPresent("#trial-banner", chromedp.ByID),
		chromedp.WaitVisible(".card", chromedp.ByQuery), b.shot("trial-confirmed"))
	m = expect(t, w.vm, regexp.MustCompile(`TRIAL: generation (\d+) confirmed from the [^;]+; it stays`), time.Minute)
	if m[1] != fmt.Sprint(gen0+3) {
		t.Errorf("confirmed generation %s, want %d", m[1], gen0+3)
	}
	var banner int
	b.run("no banner after the confirmation", chromedp.Navigate(newBase+"/overview"), chromedp.WaitVisible(".card", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#trial-banner").length`, &banner))
	if banner != 0 {
		t.Error("the trial banner is still shown after the confirmation")
	}
	apiLogin(t, w.client, newBase, webAdminPass, time.Minute) // the API client's cookie is per address
	if gen, h := history(t, w.client, newBase); gen != gen0+3 {
		t.Errorf("after the confirmation the box runs generation %d, want %d: %+v", gen, gen0+3, h)
	}
}
