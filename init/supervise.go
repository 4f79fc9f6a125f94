package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/entropy"
	"github.com/tunneler/tunneler/appliance/perm"
	"github.com/tunneler/tunneler/appliance/power"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/watchdog"
)

// After the boot steps: supervision of the services, the hardware
// watchdog fed while it is healthy, the power button, and a clean shutdown.

// startSupervision starts the reaper and the service supervisor; services
// (charon, the router) are added by their steps.
func (b *pid1) startSupervision() {
	b.reaper = supervise.NewReaper(func(st supervise.ExitStatus) {
		b.log.Debug("reaped orphan", "pid", st.Pid, "status", st.String())
	})
	logDir := ""
	if b.perm.Mounted {
		logDir = permDir + "/log"
	}
	sup, err := supervise.New(supervise.Options{Reaper: b.reaper, LogDir: logDir,
		Logf:   func(format string, args ...any) { b.log.Info(fmt.Sprintf(format, args...)) },
		Redact: b.redactor.Redact})
	if err != nil {
		b.problem("supervisor: %v", err)
		return
	}
	b.sup = sup
}

// runCommand runs a short command to completion through the reaper.
func (b *pid1) runCommand(cmd *exec.Cmd) ([]byte, error) {
	return b.reaper.Run(context.Background(), cmd)
}

// runCommand before the reaper exists (early boot) waits for the child
// itself: nothing else reaps yet.
func runCommand(cmd *exec.Cmd) ([]byte, error) { return cmd.CombinedOutput() }

// armWatchdog opens the hardware watchdog. From here on, a supervision loop
// that stops beating resets the box.
func (b *pid1) armWatchdog() {
	dev, id, err := watchdog.Find()
	if err != nil {
		b.log.Warn("no hardware watchdog; a hung init would not be noticed", "err", err)
		return
	}
	timeout := time.Duration(b.cmdline.Int("tunneler.watchdog", 30)) * time.Second
	f, err := watchdog.Open(dev, timeout)
	if err != nil {
		b.log.Warn("watchdog", "err", err)
		return
	}
	b.log.Info("watchdog armed", "device", dev, "driver", id, "timeout", f.Timeout)
	b.heartbeat.Beat()
	go f.Feed(&b.heartbeat, time.Second, f.Timeout/2, nil)
}

// watchPowerButton turns a power-key press, from whichever input device
// reports it, into a clean power off.
func (b *pid1) watchPowerButton() {
	devs, err := power.FindPowerButtons("/sys")
	if err != nil {
		b.log.Warn("power button: not found; pressing it will not power off cleanly", "err", err)
		return
	}
	for _, dev := range devs {
		b.log.Info("power button: watching", "device", dev, "name", inputName(dev))
		go func() { b.log.Warn("power button", "device", dev, "err", b.requests.WatchPowerButton(dev)) }()
	}
}

// inputName is the kernel's name of an input device, for the log.
func inputName(dev string) string {
	name, _ := os.ReadFile("/sys/class/input/" + filepath.Base(dev) + "/device/name")
	return strings.TrimSpace(string(name))
}

// supervise is init's main loop: it beats the heartbeat the watchdog
// feeder checks, but only while the reaper and every service loop are
// alive, and returns the first request to stop.
func (b *pid1) supervise() power.Request {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	hang := b.cmdline.Debug("hang")
	for {
		select {
		case <-tick.C:
			if hang {
				// Test hook: a supervision loop that is stuck. The watchdog
				// must reset the box.
				b.log.Warn("tunneler.debug=hang: supervision loop stops here")
				select {}
			}
			if err := b.healthy(); err != nil {
				b.log.Error("supervision unhealthy; the watchdog will reset the box", "err", err)
				continue
			}
			b.heartbeat.Beat()
		case req := <-b.requests.C:
			return req
		}
	}
}

func (b *pid1) healthy() error {
	if b.reaper != nil {
		if err := b.reaper.Alive(5 * time.Second); err != nil {
			return err
		}
	}
	if b.sup != nil {
		return b.sup.Healthy()
	}
	return nil
}

// shutdown stops everything cleanly and reboots or powers off.
func (b *pid1) shutdown(req power.Request) {
	b.log.Info("shutting down", "action", req.Action.String(), "reason", req.Reason)
	if b.sup != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := b.sup.Close(ctx); err != nil {
			b.log.Warn("stop services", "err", err)
		}
		cancel()
	}
	if b.net != nil {
		b.net.Close() // releases DHCP leases
	}
	power.KillAll(5 * time.Second)
	if b.perm.Mounted {
		if err := entropy.Save(seedFile); err != nil {
			b.log.Warn("save entropy seed", "err", err)
		}
		if err := perm.RecordCleanShutdown(permDir); err != nil {
			b.log.Warn("boot record", "err", err)
		}
		if err := perm.Unmount(permDir); err != nil {
			b.log.Error("unmount /perm", "err", err)
		} else {
			b.log.Info("/perm unmounted cleanly")
		}
	}
	b.cons.Printf("%s now.\n", strings.ToUpper(req.Action.String()[:1])+req.Action.String()[1:])
	if err := power.Final(req.Action); err != nil {
		b.log.Error("final "+req.Action.String(), "err", err)
	}
	select {} // PID 1 must never exit
}
