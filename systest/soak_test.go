package systest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

// The soak campaign (make soak) repeats faults that the other system tests
// try once. It runs only with TUNNELER_SOAK=1, so make test never runs it,
// and writes its figures to $TUNNELER_BUILD/soak/figures.txt.
const soakEnv = "TUNNELER_SOAK"

func soakOnly(t *testing.T) {
	t.Helper()
	if os.Getenv(soakEnv) == "" {
		// A plain skip, not testenv.Skip: the soak is left out of make
		// test on purpose, whatever TUNNELER_REQUIRE_ALL says.
		t.Skip("soak campaign: runs under make soak (" + soakEnv + "=1)")
	}
}

// soakCount reads a repeat count from env, or def.
func soakCount(t *testing.T, env string, def int) int {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a count of 1 or more", env, v)
	}
	return n
}

// soakFigures appends lines to the campaign's figures file.
func soakFigures(t *testing.T, lines ...string) {
	t.Helper()
	build, err := vmtest.BuildDir()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(build, "soak", "figures.txt")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("open figures file: %v", err)
	}
	defer f.Close()
	for _, l := range lines {
		fmt.Fprintln(f, l)
		t.Log(l)
	}
}

var (
	savedGenRe  = regexp.MustCompile(`saveloop: saved config generation (\d+)\D`)
	loadedGenRe = regexp.MustCompile(`config: loaded config generation (\d+)([^\n]*)\(hostname (saveloop-[ab]), 1 tunnels\)`)
)

// TestSoakPowerCutsWhileSaving cuts the power (kills qemu) at a random
// moment while init saves the config in a loop (tunneler.debug=saveloop),
// TUNNELER_SOAK_POWERCUTS times (50 by default) on one disk. Every next
// boot must load the last generation reported saved before the cut or a
// newer one (a save that finished after the last report), or, when the
// newest on disk was torn by the cut, the one before it and say so: never
// an empty, older or mixed config.
func TestSoakPowerCutsWhileSaving(t *testing.T) {
	soakOnly(t)
	requireTools(t)
	cuts := soakCount(t, "TUNNELER_SOAK_POWERCUTS", 50)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("%d power cuts, random seed %d", cuts, seed)
	im := vmtest.LoadImage(t)
	disk := diskWithESPFile(t, im, "tunneler.env", envFile)
	vmtest.RegisterSecret(envPSK)

	var (
		sane, fellBack int
		lastSaved      int // newest generation reported saved before the last cut
		bootTimes      []time.Duration
	)
	start := time.Now()
	for i := 0; i <= cuts; i++ {
		t.Run(fmt.Sprintf("boot %02d", i), func(t *testing.T) {
			began := time.Now()
			vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, Append: "tunneler.debug=saveloop"})
			banner := expectBanner(t, vm, "direct")
			bootTimes = append(bootTimes, time.Since(began))
			if i > 0 {
				out := vm.Console.Output()
				m := loadedGenRe.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("after power cut %d the box does not say which config it loaded:\n%s", i, vm.Console.Tail(80))
				}
				gen, _ := strconv.Atoi(m[1])
				switch {
				case gen < lastSaved:
					t.Errorf("after power cut %d: loaded generation %d, older than %d which was reported saved", i, gen, lastSaved)
				case strings.Contains(out, "no generation is readable") || strings.Contains(out, "provisioning: imported"):
					t.Errorf("after power cut %d the config was lost:\n%s", i, vm.Console.Tail(60))
				case strings.Contains(m[2], "newer generations were unreadable") && !strings.Contains(banner, "PROBLEM:    config:"):
					t.Errorf("after power cut %d: fell back to generation %d without saying so in the banner:\n%s", i, gen, banner)
				default:
					sane++
					if strings.Contains(m[2], "newer generations were unreadable") {
						fellBack++
					}
				}
				t.Logf("power cut %d: generation %d (%s%s), %d was the last reported saved", i, gen, m[3], m[2], lastSaved)
			}
			if i == cuts {
				menu(t, vm, "0", true)
				if err := vm.Wait(shutdownTimeout); err != nil {
					t.Fatal(err)
				}
				vmtest.CheckPermClean(t, vm.PermImage(t))
				return
			}
			first := expect(t, vm, savedGenRe, 60*time.Second)
			firstGen, _ := strconv.Atoi(first[1])
			// A random moment within the next 1.5 s of saving.
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
			vm.Kill()
			newest := firstGen
			for _, m := range savedGenRe.FindAllStringSubmatch(vm.Console.Output(), -1) {
				if g, _ := strconv.Atoi(m[1]); g > newest {
					newest = g
				}
			}
			lastSaved = newest
		})
	}
	if len(bootTimes) == 0 {
		t.Fatal("no boot reached the banner")
	}
	slices.Sort(bootTimes)
	soakFigures(t,
		fmt.Sprintf("power cuts while saving: %d/%d boots came up with a whole generation, none older than the last reported saved (%d fell back past a torn newest one)", sane, cuts, fellBack),
		fmt.Sprintf("power cuts while saving: boot to banner median %.1f s, max %.1f s; %d cuts in %s (seed %d)",
			bootTimes[len(bootTimes)/2].Seconds(), bootTimes[len(bootTimes)-1].Seconds(), cuts, time.Since(start).Round(time.Second), seed))
	if sane != cuts {
		t.Errorf("%d of %d boots after a power cut came up with a sane config", sane, cuts)
	}
}

var (
	bootMarkRe      = regexp.MustCompile(`Linux version \d`)
	routerKilledRe  = regexp.MustCompile(`Router \(pid (\d+)\) killed with SIGKILL`)
	routerHealthyRe = regexp.MustCompile(`router: connected to its controller \(pid (\d+)`)
)

// TestSoakDaemonKills kills charon and the router with SIGKILL at random
// moments, TUNNELER_SOAK_KILLS times each (20 by default, alternating),
// while a host behind the remote site pings the inside address every
// 0.2 s. Each must recover without a reboot: after charon's death the
// tunnel green again, after the router's a new router process connected
// to its controller and an intercept answering. The times go to the
// figures file.
func TestSoakDaemonKills(t *testing.T) {
	soakOnly(t)
	requireTools(t)
	kills := soakCount(t, "TUNNELER_SOAK_KILLS", 20)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("%d kills of each daemon, random seed %d", kills, seed)

	bx := startRouterBox(t, 1024)
	ov, rs, vm := bx.ov, bx.site, bx.vm
	jwt := ov.routerToken(boxRouter)
	serveHTTP(t, ov.host.Netns, "127.0.0.1:8080", overlayReply)
	ov.service("web", boxRouter, qsRouter,
		[2]string{"intercept.v1", `{"protocols":["tcp"],"addresses":["web.ziti.test"],"portRanges":[{"low":80,"high":80}]}`},
		[2]string{"host.v1", `{"protocol":"tcp","address":"127.0.0.1","port":8080}`})
	expectBanner(t, vm, "direct")
	waitStatus(t, vm, 0, "zsite", "green", 90*time.Second)
	if _, err := newBoxWeb(t, ov.host).enroll(jwt); err != nil {
		t.Fatalf("enrollment through the web UI: %v", err)
	}
	bx.expect(t, connectedRe, 90*time.Second)
	if _, err := waitFetch(rs.Inside, "web.ziti.test", overlayReply, 60*time.Second); err != nil {
		t.Fatalf("no intercept before the kills: %v", err)
	}
	boots := len(bootMarkRe.FindAllString(vm.Console.Output(), -1))
	ping := startPing(t, rs.Inside, insideAddr, "0.2")

	var charonBack, routerBack, interceptBack []time.Duration
	var charonOK, routerOK int
	start := time.Now()
	for i := 0; i < 2*kills; i++ {
		// A random moment: up to 5 s after the last recovery.
		time.Sleep(time.Duration(rng.IntN(5000)) * time.Millisecond)
		mark := len(vm.Console.Output())
		if i%2 == 0 {
			killed := killCharon(t, vm)
			waitSeen(t, vm, mark, "zsite", "orange", 20*time.Second)
			at, _ := waitStatus(t, vm, mark, "zsite", "green", 60*time.Second)
			charonBack = append(charonBack, at.Sub(killed))
			charonOK++
			continue
		}
		bx.menu(t, "15", "Admin password: ", adminPass)
		m := bx.expect(t, routerKilledRe.String(), 20*time.Second)
		killed := time.Now()
		pid := m[1]
		healthy := time.Time{}
		for deadline := killed.Add(60 * time.Second); healthy.IsZero(); time.Sleep(200 * time.Millisecond) {
			out := vm.Console.Output()
			for _, h := range routerHealthyRe.FindAllStringSubmatch(out[min(mark, len(out)):], -1) {
				if h[1] != pid {
					healthy = time.Now()
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: no new router connected to its controller 60 s after killing pid %s\n%s", i/2+1, pid, vm.Console.Tail(30))
			}
		}
		if _, err := waitFetch(rs.Inside, "web.ziti.test", overlayReply, 30*time.Second); err != nil {
			t.Fatalf("kill %d: intercepts not working 30 s after the router came back: %v", i/2+1, err)
		}
		routerBack = append(routerBack, healthy.Sub(killed))
		interceptBack = append(interceptBack, time.Since(killed))
		routerOK++
	}
	sent, recv, _ := ping.stop(t)
	if got := len(bootMarkRe.FindAllString(vm.Console.Output(), -1)); got != boots {
		t.Errorf("the box rebooted during the kills (%d boots on the console, %d before)", got, boots)
		charonOK, routerOK = 0, 0
	}
	soakFigures(t,
		fmt.Sprintf("charon SIGKILL: %d/%d recovered without a reboot; tunnel green again %s", charonOK, kills, spread(charonBack)),
		fmt.Sprintf("router SIGKILL: %d/%d recovered without a reboot; new router connected to its controller %s; intercept answering %s",
			routerOK, kills, spread(routerBack), spread(interceptBack)),
		fmt.Sprintf("daemon kills: ping through the tunnel every 0.2 s: %d sent, %d received, over %s (seed %d)",
			sent, recv, time.Since(start).Round(time.Second), seed))
}

// spread prints durations as min, median and max, in seconds: the first
// kills show the restart itself, later ones the supervisor's backoff
// (a run shorter than its StableAfter counts as a failure in a row).
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "(none)"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("min %.1f s, median %.1f s, max %.1f s", s[0].Seconds(), s[len(s)/2].Seconds(), s[len(s)-1].Seconds())
}

// TestSoakFullPerm boots a box whose /perm the fillperm test hook filled
// to the last block: a save through the JSON API fails with 507 saying
// /perm is full and that nothing was saved, the box keeps serving, and
// after a clean power-off the next boot (without the hook, which gives the
// space back) has the same generation as before, and saves again.
func TestSoakFullPerm(t *testing.T) {
	soakOnly(t)
	requireTools(t)
	im := vmtest.LoadImage(t)
	lab := vmtest.NewLab(t)
	monitor := lab.AddHost(t, "lan", "admin", "192.168.50.2/24")
	cfg := strings.Replace(boxConfig(t), `"interfaces": [`,
		`"interfaces": [
    {"role": "lan", "mac": "52:54:00:00:0b:01", "mode": "static", "address": "192.168.50.1/24"},`, 1)
	disk := diskWithESPFile(t, im, "tunneler.json", cfg)
	opts := vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768, Append: "tunneler.debug=fillperm",
		Lab: lab, NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: "52:54:00:00:0b:01"}}}
	const base = "https://192.168.50.1"

	var genBefore string
	t.Run("full", func(t *testing.T) {
		vm := vmtest.Start(t, im, opts)
		expectBanner(t, vm, "direct")
		expect(t, vm, regexp.MustCompile(`fillperm: /perm is full now`), 60*time.Second)
		api := loggedInAPI(t, monitor, base)
		genBefore = api.etag(t)
		status, body := api.save(t, genBefore, url.Values{"hostname": {"after-full"}})
		t.Logf("save on the full /perm: %d %s", status, strings.TrimSpace(body))
		if status != http.StatusInsufficientStorage || !strings.Contains(body, "/perm is full") || !strings.Contains(body, "nothing was saved") {
			t.Errorf("save on a full /perm: %d %s; want 507 saying /perm is full and nothing was saved", status, body)
		}
		if got := api.etag(t); got != genBefore {
			t.Errorf("the generation moved from %s to %s on a failed save", genBefore, got)
		}
		// Still serving, still logging.
		if got := api.etag(t); got == "" {
			t.Error("the web UI stopped answering")
		}
		expect(t, vm, regexp.MustCompile(`webui: save the configuration: .*/perm is full`), 20*time.Second)
		menu(t, vm, "0", true)
		if err := vm.Wait(shutdownTimeout); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("next boot", func(t *testing.T) {
		opts.Append = ""
		vm := vmtest.Start(t, im, opts)
		expectBanner(t, vm, "direct")
		api := loggedInAPI(t, monitor, base)
		if got := api.etag(t); got != genBefore {
			t.Errorf("after the reboot the generation is %s, want %s (the one saved before /perm filled)", got, genBefore)
		}
		if status, body := api.save(t, genBefore, url.Values{"hostname": {"after-full"}}); status != http.StatusOK {
			t.Errorf("save with the space back: %d %s", status, body)
		}
		soakFigures(t, "full /perm: a save fails with 507 and says /perm is full and nothing was saved; the box keeps serving; the next boot has the generation saved before, and saves again")
		menu(t, vm, "0", true)
		vm.Wait(shutdownTimeout)
	})
}

// soakAPI is the JSON API as a script on the LAN uses it.
type soakAPI struct {
	c          *http.Client
	base, csrf string
}

func loggedInAPI(t *testing.T, h *vmtest.Host, base string) *soakAPI {
	t.Helper()
	c := vmtest.RecordHTTP(t, h.HTTPClient())
	c.Jar, _ = cookiejar.New(nil)
	return &soakAPI{c: c, base: base, csrf: apiLogin(t, c, base, adminPW, 90*time.Second)}
}

func (a *soakAPI) etag(t *testing.T) string {
	t.Helper()
	resp, err := a.c.Get(a.base + "/api/settings")
	if err != nil {
		t.Fatalf("GET /api/settings: %v", err)
	}
	resp.Body.Close()
	return resp.Header.Get("ETag")
}

// save posts a System change based on generation etag.
func (a *soakAPI) save(t *testing.T, etag string, v url.Values) (int, string) {
	t.Helper()
	v.Set("timezone", "UTC")
	req, _ := http.NewRequest(http.MethodPost, a.base+"/api/settings/system", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", a.csrf)
	req.Header.Set("If-Match", etag)
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatalf("POST /api/settings/system: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
