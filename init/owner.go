package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
	"github.com/tunneler/tunneler/appliance/ipsec"
	"github.com/tunneler/tunneler/appliance/netconf"
	"github.com/tunneler/tunneler/appliance/opmenu"
	"github.com/tunneler/tunneler/appliance/power"
	"github.com/tunneler/tunneler/appliance/provision"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/ziti"
)

// trialFile records a change on trial, so a reboot during it goes back.
const trialFile = "/perm/state/trial.json"

// startOwner makes the one owner of the running box (appliance/control)
// from the config loaded at boot. The web UI, the console menu and the
// banner all save and read through it.
func (b *pid1) startOwner() {
	d := control.Deps{
		Boot:    b.cfg,
		BootGen: b.cfgSeq,
		Apply:   b.applyChange,
		Tunnels: func() control.Tunnels {
			if c := b.sites.Client(); c != nil {
				return c
			}
			return nil
		},
		Units: func() []*supervise.Unit {
			if b.sup == nil {
				return nil
			}
			return b.sup.Units()
		},
		SystemLog: b.logs.Lines,
		Router:    b.webRouterStatus,

		EnrollRouter: func(ctx context.Context, jwt []byte, progress func(string)) error {
			return b.router.Enroll(ctx, jwt, progress)
		},
		UnenrollRouter: func(ctx context.Context) error { return b.router.Unenroll(ctx) },

		SetupCode:    b.currentSetupCode,
		SetupDone:    b.leaveSetupMode,
		Reboot:       func(reason string) { b.requests.Ask(power.Reboot, reason) },
		PowerOff:     func(reason string) { b.requests.Ask(power.PowerOff, reason) },
		FactoryReset: b.factoryReset,
		RestartCharon: func(ctx context.Context) error {
			if b.sup == nil || b.sup.Unit("charon") == nil {
				return fmt.Errorf("charon is not running")
			}
			return b.sup.Unit("charon").Restart(ctx)
		},
		Firewall:     readFirewallCounters,
		Network:      b.netStatus,
		Problems:     b.problemLines,
		Provisioning: b.provision,
		Version:      version,
		Logf:         func(format string, args ...any) { b.log.Info(fmt.Sprintf(format, args...)) },
		Sites: func() control.Sites { // init/sites.go
			if g := b.sites.Group(); g != nil {
				return g
			}
			return nil
		},
		Alarms:   b.sites.Alarms,
		Liveness: b.sites.Liveness, // ESP counters; its alarm's time is the default of both
		Probe:    ipsec.Probe,
	}
	if b.store != nil { // not a nil *config.Store in an interface
		d.Store = b.store
		d.TrialFile = trialFile
	}
	if b.perm.Mounted {
		d.PermDir = permDir
		d.BackupDirs = backupDirs
	}
	d.NICs = b.nicMACs
	d.StopRouter = b.router.StopForRestore
	d.StartRouter = func(ctx context.Context, c config.Config) error {
		return b.router.StartAfterRestore(ctx, c.WithDefaults().Router)
	}
	b.owner = control.New(d)
	// Certificates age with no page open: their expiry alarms (30 days
	// ahead, and at expiry) are checked hourly too.
	go func() {
		for {
			b.owner.CheckCertificates()
			time.Sleep(time.Hour)
		}
	}()
}

// factoryReset erases the config store and reboots into setup mode: the
// web UI's and the console's.
func (b *pid1) factoryReset() error {
	if b.store == nil {
		return fmt.Errorf("/perm is not mounted: there is no config store to erase")
	}
	if err := opmenu.Wipe(b.store.Dir); err != nil {
		return err
	}
	b.log.Info("factory reset: config store erased")
	b.requests.Ask(power.Reboot, "factory reset")
	return nil
}

// applyChange hands a saved config to the drivers (the owner calls it).
func (b *pid1) applyChange(ctx context.Context, c config.Config) error {
	err := b.applier.Apply(ctx, c)
	b.sites.Apply(c) // XFRM policies and charon follow the tunnels
	b.configureSyslog(c)
	return err
}

// backupDirs are the directories under /perm an encrypted backup carries:
// the router's enrolled identity (router.yml is rendered again before each
// start) and the web UI's certificate.
func backupDirs(c config.Config) []control.PermDir {
	var out []control.PermDir
	if rel, err := filepath.Rel(permDir, ziti.PathsFor(c.WithDefaults().Router).Dir); err == nil && !strings.HasPrefix(rel, "..") {
		out = append(out, control.PermDir{Rel: filepath.ToSlash(rel), StagePrefix: ".enroll-", LastFile: "enrollment.json", Router: true})
	}
	if rel, err := filepath.Rel(permDir, webCertDir); err == nil {
		// Read at boot: a restored certificate is served from the next one.
		out = append(out, control.PermDir{Rel: filepath.ToSlash(rel), StagePrefix: ".restore-"})
	}
	return out
}

// nicMACs are this box's NICs' MAC addresses in PCI order, for a backup
// restored from other hardware.
func (b *pid1) nicMACs() []string {
	nics, err := netconf.NICs(netconf.SysfsPhysical)
	if err != nil {
		b.log.Warn("restore: list NICs", "err", err)
		return nil
	}
	var out []string
	for _, n := range nics {
		if len(n.MAC) > 0 {
			out = append(out, n.MAC.String())
		}
	}
	return out
}

// backupTarget is where a headless restore from the ESP puts the backup's
// files (the router is not running yet at that point of boot).
func (b *pid1) backupTarget() provision.BackupTarget {
	return provision.BackupTarget{NICs: b.nicMACs(), WriteFiles: func(c config.Config, files map[string][]byte) error {
		return control.ReplaceDirs(permDir, backupDirs(c), files)
	}}
}
