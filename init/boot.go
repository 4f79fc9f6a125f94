package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/tunneler/tunneler/appliance/apply"
	"github.com/tunneler/tunneler/appliance/cmdline"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/control"
	"github.com/tunneler/tunneler/appliance/entropy"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/netconf"
	"github.com/tunneler/tunneler/appliance/perm"
	"github.com/tunneler/tunneler/appliance/power"
	"github.com/tunneler/tunneler/appliance/provision"
	"github.com/tunneler/tunneler/appliance/remotelog"
	"github.com/tunneler/tunneler/appliance/sites"
	"github.com/tunneler/tunneler/appliance/slot"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/sysinfo"
	"github.com/tunneler/tunneler/appliance/update"
	"github.com/tunneler/tunneler/appliance/watchdog"
	"github.com/tunneler/tunneler/appliance/ziti"
	"github.com/u-root/u-root/pkg/rtc"
	"golang.org/x/sys/unix"
)

const (
	permDir  = "/perm"
	seedFile = "/perm/random-seed"
	logLines = 500 // init's log lines kept for the console menu
)

// pid1 is what PID 1 learns in the boot steps and what later steps (menu,
// banner, the owner's wiring) need. Only init/ holds such state.
type pid1 struct {
	log        *slog.Logger
	localLog   *slog.Logger // console and ring only: for lines that reach syslog in their own form (alarms)
	cons       *console.Set
	cmdline    cmdline.Cmdline // tunneler.* settings and test hooks
	perm       perm.Result
	boot       perm.BootRecord
	store      *config.Store // nil when /perm is not mounted
	cfg        config.Config // as loaded at boot (empty in setup mode)
	cfgSeq     int
	applier    *apply.Applier
	owner      *control.Owner // the one owner of the running state (init/owner.go)
	logs       *console.LogRing
	mu         sync.Mutex // setupMode, setupCode (the menus change them) and problems
	setupMode  bool
	setupCode  string
	problems   []string         // guarded by mu: later steps and the web UI run concurrently
	provision  provision.Result // this boot's import from the ESP, for the web UI
	requests   *power.Requests
	net        *netconf.Manager
	reaper     *supervise.Reaper
	sup        *supervise.Supervisor
	heartbeat  watchdog.Heartbeat
	started    float64 // uptime when /init started
	bannerOnce sync.Once
	bannerSecs float64       // /init to the first banner
	router     *ziti.Service // nil without /perm or a supervisor (init/router.go)
	web        webCert       // the web UI's certificate (init/webui.go)

	// sites runs the tunnels, charon, failover and alarms (init/sites.go).
	sites *sites.Manager

	// Firmware updates (init/update.go): nil when unavailable; trial is
	// set on a trial boot of a new firmware.
	firmware *update.Firmware
	trial    *update.Trial
	// firmwareNotice is why the last update rolled back, found at boot.
	firmwareNotice string
	webCheckErr    string // the health gate's last web UI error (gate goroutine only)

	// syslog forwards logs to a remote server, off until the config
	// names one; logFwd adds the services' lines (init/syslog.go).
	syslog *remotelog.Forwarder
	logFwd *remotelog.ServiceForwarder
	// redactor holds the config's keys and hashes, cut out of every line
	// a service prints and every forwarded line.
	redactor remotelog.Redactor
}

// boot runs DESIGN.md's boot sequence, then supervises until shutdown.
func boot() {
	b := &pid1{}

	// 1. Pseudo filesystems.
	mountErrs := mountBase()
	b.started = uptime()

	// 2. Every console of the command line gets init's output.
	line := readTrim("/proc/cmdline")
	b.cmdline = cmdline.Parse(line)
	cons, err := console.Open(line, "/dev")
	b.cons = cons
	// The ring keeps init's lines for the menu's "view logs".
	b.logs = console.NewLogRing(logLines)
	b.syslog = remotelog.NewForwarder()
	b.log = slog.New(slog.NewTextHandler(io.MultiWriter(cons, b.logs, remotelog.LogWriter{F: b.syslog}), &slog.HandlerOptions{ReplaceAttr: shortTime}))
	b.localLog = slog.New(slog.NewTextHandler(io.MultiWriter(cons, b.logs), &slog.HandlerOptions{ReplaceAttr: shortTime}))
	if err != nil {
		b.log.Error("consoles", "err", err)
	}
	b.cons.Printf("Tunneler %s starting (kernel took %.2fs)\n", version, b.started)
	for _, e := range mountErrs {
		b.problem("mounts: %v", e)
	}
	b.requests = power.NewRequests()
	if err := power.CatchCtrlAltDel(); err != nil {
		b.log.Warn("ctrl-alt-del", "err", err)
	}
	if err := power.RebootOnPanic("/proc/sys", 10); err != nil {
		b.log.Warn("panic reboot", "err", err)
	}

	// 3. Drivers are built into the board's kernel (board/*/kernel): there
	// are no modules to load, and the kernel asks for none.
	go b.watchPowerButton()

	// 4. Default-deny firewall before any interface is up.
	b.installDefaultDeny()

	// 5. The data partition.
	b.timed("/perm", b.openPerm)

	// 6. Entropy seed and clock.
	b.restoreEntropy()
	b.setClock()

	// 7. Provisioning from the ESP on first boot; the config, or setup mode
	// with a one-time code.
	b.loadConfig()
	b.startLogForwarding()

	// From here on every child is started through the reaper, which owns
	// all waiting (PID 1 reaps orphans with wait4(-1)).
	b.startSupervision()
	b.sites = b.newSites()

	// The running slot's extras (charon, the router) at /usr.
	b.mountSlot()
	b.setupFirmware() // a trial boot ends the boot loader's one-shot here

	// 8. Network and the full firewall; XFRM policies (appliance/xfrm)
	// go in with charon after the banner (startIPsec).
	b.startNetwork()
	b.setupRouter() // added to the supervisor; started after the policies
	// 9. charon, connections and secrets over VICI (appliance/ipsec): startIPsec.
	// 10. The ziti router once enrolled (appliance/ziti).

	b.startOwner()
	b.printBanner()
	go func() {
		b.startIPsec()
		b.startRouter() // 10: after the XFRM policies, so nothing leaks
		b.firmwareAlarmAtBoot()
	}()
	if b.cmdline.Debug("saveloop") {
		b.debugSaveLoop()
	}
	if b.cmdline.Debug("fillperm") && b.perm.Mounted {
		// Test hook: /perm full, as a box whose disk filled up.
		n, err := perm.Fill(permDir)
		b.log.Warn("tunneler.debug=fillperm: /perm is full now", "filled_bytes", n, "err", err)
	}
	if b.cmdline.Debug("panic") {
		// Test hook: PID 1 dies, the kernel panics, and must reboot.
		b.log.Warn("tunneler.debug=panic: init exits now")
		os.Exit(1)
	}

	// 11. Web UI (webui), the console menu, and the watchdog fed only while
	// the supervision loop below is alive.
	b.serveWebUI()
	b.serveMenus()
	b.armWatchdog()
	go b.runHealthGate() // on a trial boot: keep this firmware, or roll back

	// 12. Supervise and reap until asked to stop.
	req := b.supervise()
	b.shutdown(req)
}

// timed runs a boot step and logs how long it took when that is long
// enough to matter for the time to banner.
func (b *pid1) timed(what string, step func()) {
	start := time.Now()
	step()
	if d := time.Since(start); d > 200*time.Millisecond {
		b.log.Info("boot step took long", "step", what, "seconds", fmt.Sprintf("%.2f", d.Seconds()))
	}
}

func (b *pid1) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.mu.Lock()
	b.problems = append(b.problems, msg)
	b.mu.Unlock()
	b.log.Error(msg)
}

// problemLines is a copy of the problems so far, for the banner and the
// web UI.
func (b *pid1) problemLines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// installDefaultDeny drops everything but loopback until the config's full
// ruleset replaces it (step 8). Without it, the box boots with no firewall.
func (b *pid1) installDefaultDeny() {
	os.Symlink("/init", "/bin/"+diverterName)
	conn, err := nftables.New()
	if err == nil {
		err = firewall.DefaultDeny(conn)
	}
	if err != nil {
		b.problem("firewall: default deny not installed: %v", err)
		return
	}
	b.log.Info("firewall: default deny installed")
}

func (b *pid1) openPerm() {
	fromDisk := slot.FromDisk(b.cmdline.Value("tunneler.slot", ""))
	b.perm = perm.Open("/sys", permDir, fromDisk, runCommand)
	switch {
	case b.perm.Mounted && b.perm.Formatted:
		b.log.Info("/perm made on first boot and mounted", "device", b.perm.Partition.Device)
	case b.perm.Mounted:
		b.log.Info("/perm mounted", "device", b.perm.Partition.Device)
	default:
		b.problem("/perm: %s", b.perm.Problem)
	}
	if b.perm.Mounted {
		// A boot with the fillperm test hook left /perm full: give the
		// space back before anything here writes.
		if err := perm.Unfill(permDir); err != nil {
			b.log.Warn("fillperm", "err", err)
		}
		for _, d := range []string{"config", "log", "state"} {
			os.MkdirAll(permDir+"/"+d, 0o700)
		}
		rec, err := perm.RecordBoot(permDir)
		if err != nil {
			b.log.Warn("boot record", "err", err)
		}
		b.boot = rec
	}
}

func (b *pid1) restoreEntropy() {
	if !b.perm.Mounted {
		return
	}
	if _, err := entropy.Restore(seedFile, "/dev/urandom"); err != nil {
		b.log.Warn("entropy seed", "err", err)
	}
}

// setClock checks the clock the kernel took from the RTC; if the kernel did
// not (no RTC_HCTOSYS), it reads the RTC itself.
func (b *pid1) setClock() {
	r, err := rtc.OpenRTC()
	if err != nil {
		b.log.Warn("no RTC; clock waits for NTP", "err", err)
		return
	}
	defer r.Close()
	t, err := r.Read()
	if err != nil {
		b.log.Warn("read RTC", "err", err)
		return
	}
	if d := time.Since(t); d > time.Minute || d < -time.Minute {
		tv := unix.NsecToTimeval(t.UnixNano())
		if err := unix.Settimeofday(&tv); err != nil {
			b.log.Warn("set clock from RTC", "err", err)
			return
		}
	}
	b.log.Info("clock set from RTC", "utc", time.Now().UTC().Format(time.RFC3339))
}

// uptime is how long the kernel has run, in seconds: boot steps are
// timed from it.
func uptime() float64 {
	d, _ := sysinfo.Uptime("/proc")
	return d.Seconds()
}

func readTrim(path string) string {
	data, _ := os.ReadFile(path)
	return strings.TrimSpace(string(data))
}
