package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/power"
	"github.com/tunneler/tunneler/appliance/slot"
	"github.com/tunneler/tunneler/appliance/update"
	"golang.org/x/sys/unix"
)

// updateKey is the public half of the key update bundles are signed with,
// base64 (-ldflags -X main.updateKey=..., image/mkimage). In the binary,
// not on /perm, so nothing on the box can swap it.
var updateKey = ""

// testBreak is set only in firmware the rollback tests build broken on
// purpose (mkimage -update-only -test-break charon): "charon" never
// starts charon, so no tunnel comes back and the trial must roll back.
var testBreak = ""

// espDir is where mountSlot mounts the ESP (read-only but for an update);
// efiVars is where the EFI variables are, under UEFI.
const (
	espDir  = "/boot"
	efiVars = "/sys/firmware/efi/efivars"
)

// setupFirmware makes the update surface once the ESP is mounted, and
// handles a trial boot before the services start: on the trial slot it
// ends the boot loader's one-shot; back on the old slot after a trial
// that did not commit, it says why. Without an update key or the running
// slot's manifest, updates are unavailable and the box says so.
func (b *pid1) setupFirmware() {
	key, err := base64.StdEncoding.DecodeString(updateKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		b.log.Warn("firmware updates unavailable: this init was built without an update key")
		return
	}
	running := b.cmdline.Value("tunneler.slot", "")
	if running != "a" && running != "b" {
		running = "" // direct kernel boot (tunneler.slot=direct or none)
	}
	cur := slot.Name(running) // direct: the disk's slot a is the same build
	m, err := update.ReadSlotManifest(espDir, cur)
	if err != nil {
		b.log.Warn("firmware updates unavailable: the running slot has no manifest", "slot", cur, "err", err)
		return
	}
	var loader update.Loader
	switch {
	case running == "":
		// qemu -kernel: no boot loader; bundles can still be checked and
		// written, but not booted.
	case dirExists("/sys/firmware/efi"):
		loader = update.SystemdBoot{ESP: espDir, EFIVars: efiVars}
		// efivarfs is built in; mountBase mounted it already (EBUSY).
		if err := unix.Mount("efivarfs", efiVars, "efivarfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil && err != unix.EBUSY {
			b.problem("firmware updates: mount efivarfs on %s: %v: a trial boot cannot be armed", efiVars, err)
		}
	default:
		loader = update.Syslinux{ESP: espDir}
	}
	rw := &espWritable{dir: espDir}
	b.firmware = &update.Firmware{
		Installer: &update.Installer{ESP: espDir, Running: cur, Board: m.Board, Key: ed25519.PublicKey(key),
			Version: version, Built: m.Built, Writable: rw.acquire},
		Loader: loader,
		Reboot: func(reason string) { b.requests.Ask(power.Reboot, reason) },
		Up:     b.whatIsUp,
	}
	trial, notice := b.firmware.AtBoot()
	if notice != "" {
		b.problem("%s", notice)
		b.firmwareNotice = notice // an alarm once remote syslog is set up (firmwareAlarmAtBoot)
	}
	b.firmware.OnEvent = b.firmwareEvent
	b.trial = trial
	if trial != nil {
		b.log.Info("firmware trial boot: the health gate decides whether this firmware stays", "version", version, "slot", cur, "window", trial.Window, "must be up", strings.Join(trial.Up, ", "))
	}
}

// firmwareEvent makes each update event an alarm-style event: on the
// console, in the log ring and to remote syslog. A rollback raises the
// "firmware" alarm; a commit clears it.
func (b *pid1) firmwareEvent(e update.Event) {
	a := b.sites.Alarms()
	now := time.Now()
	switch e.Outcome {
	case "rolled back":
		a.Raise(now, firmwareAlarm, alarm.Warning, e.String())
	case "committed":
		a.Clear(now, firmwareAlarm, e.String())
		a.Note(now, firmwareAlarm, e.String())
	default:
		a.Note(now, firmwareAlarm, e.String())
	}
}

// firmwareAlarm is the alarm key of firmware updates.
const firmwareAlarm = "firmware"

// firmwareAlarmAtBoot raises the alarm for a rollback found at boot,
// once the sites have attached remote syslog to the alarms: AtBoot runs
// before the config is applied.
func (b *pid1) firmwareAlarmAtBoot() {
	if b.firmwareNotice != "" {
		b.sites.Alarms().Raise(time.Now(), firmwareAlarm, alarm.Warning, b.firmwareNotice)
	}
}

// whatIsUp names the tunnels that are up and the router if connected: a
// trial firmware must bring them all up again.
func (b *pid1) whatIsUp() []string {
	var up []string
	if c := b.sites.Client(); c != nil {
		for _, t := range c.Status() {
			if t.Up() {
				up = append(up, "tunnel "+t.Name)
			}
		}
	}
	if b.router.Status().Connected {
		up = append(up, "router")
	}
	return up
}

// runHealthGate runs on a trial boot once the services are started: the
// firmware stays (becomes the boot loader's default) only when supervision
// is healthy, the web UI answers and what was up before is up again.
func (b *pid1) runHealthGate() {
	t := b.trial
	if t == nil {
		return
	}
	window, err := time.ParseDuration(t.Window)
	if err != nil || window <= 0 {
		window = update.DefaultWindow
	}
	checks := []update.Check{
		{Name: "supervision", OK: func() bool { return b.healthy() == nil }},
		{Name: "web UI", OK: b.webUIAnswers},
	}
	for _, want := range t.Up {
		checks = append(checks, update.Check{Name: want, OK: func() bool { return slices.Contains(b.whatIsUp(), want) }})
	}
	report := func(failing []string) {
		if len(failing) > 0 {
			b.log.Info("firmware trial: waiting for the health gate", "not yet", strings.Join(failing, ", "))
		}
	}
	if err := update.Gate(context.Background(), checks, window, 5*time.Second, report); err != nil {
		b.log.Error("firmware trial failed its health gate; rolling back", "version", version, "err", err)
		b.firmware.RollBack(t, err.Error())
		return
	}
	if err := b.firmware.Commit(t); err != nil {
		b.problem("firmware %s passed its health gate but could not be made the default: %v", version, err)
		return
	}
	b.log.Info("firmware trial passed its health gate: this firmware is now the default", "version", version)
}

// webUIAnswers: the login page comes back over HTTPS on a management
// address.
func (b *pid1) webUIAnswers() bool {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer c.CloseIdleConnections()
	for _, a := range b.mgmtAddrs() {
		resp, err := c.Get("https://" + net.JoinHostPort(a.String(), "443") + "/login")
		if err != nil {
			if msg := err.Error(); msg != b.webCheckErr {
				b.webCheckErr = msg // said once, not every 5 s of the window
				b.log.Info("firmware trial: the web UI does not answer yet", "err", err)
			}
			continue
		}
		resp.Body.Close()
		if resp.StatusCode < 500 {
			return true
		}
	}
	return false
}

// espWritable remounts the ESP read-write while any install or boot
// loader change needs it, and read-only again after the last one.
type espWritable struct {
	dir string
	mu  sync.Mutex
	n   int
}

func (e *espWritable) acquire() (func() error, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		if err := unix.Mount("", e.dir, "", unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "umask=0077"); err != nil {
			return nil, fmt.Errorf("remount %s read-write: %w", e.dir, err)
		}
	}
	e.n++
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.n--
			if e.n == 0 {
				unix.Sync()
				err = unix.Mount("", e.dir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "umask=0077")
			}
		})
		return err
	}, nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
