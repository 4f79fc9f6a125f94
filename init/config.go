package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/tunneler/tunneler/appliance/apply"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/configdrive"
	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/install"
	"github.com/tunneler/tunneler/appliance/netconf"
	"github.com/tunneler/tunneler/appliance/opmenu"
	"github.com/tunneler/tunneler/appliance/perm"
	"github.com/tunneler/tunneler/appliance/power"
	"github.com/tunneler/tunneler/appliance/provision"
)

const (
	configDir        = "/perm/config"
	provisionStatus  = "/perm/state/provisioning.txt"
	espMount         = "/run/tunneler/esp"
	configDriveMount = "/run/tunneler/configdrive"
	newESPMount      = "/run/tunneler/install-esp" // the ESP of the disk installed to
	setupCodeFile    = "/run/tunneler/setup-code"
)

// provisionUnattended imports a config dropped before first boot: from
// the ESP (a backup, tunneler.json or tunneler.env), else from a config
// drive (a cidata or config-2 volume, or any ISO or FAT volume holding
// one of those files). loadConfig calls it only when nothing was ever
// saved (first boot, or after a factory reset).
func (b *pid1) provisionUnattended() {
	r := b.provisionFromESP()
	if r.File == "" {
		r = b.provisionFromConfigDrive()
	}
	for _, l := range r.Lines() {
		if r.Imported && r.Err == nil {
			b.log.Info(l)
		} else {
			b.log.Error(l)
		}
	}
	if r.File == "" && r.Err == nil {
		// Nothing there now; a file rejected at an earlier boot is
		// still the reason this box has no config, so say it again.
		if last, ok := provision.LastRejected(provisionStatus); ok {
			r = last
			b.log.Error(fmt.Sprintf("provisioning: at an earlier boot %s on %s was NOT imported%s", last.File, last.Where(), keptAs(last)))
			for _, p := range last.Problems {
				b.log.Error("provisioning: " + p)
			}
		}
	}
	b.provision = r
	if r.File != "" && !r.Imported {
		b.problem("provisioning: %s on %s was NOT imported (see the lines above%s)", r.File, r.Where(), keptAs(r))
	}
	if err := provision.WriteStatus(provisionStatus, r); err != nil {
		b.log.Warn("provisioning: status note", "err", err)
	}
}

func keptAs(r provision.Result) string {
	if r.KeptAs == "" {
		return ""
	}
	return "; kept as " + r.KeptAs
}

func (b *pid1) provisionFromESP() provision.Result {
	esp, err := perm.Find("/sys", perm.ESPName)
	if err != nil {
		b.log.Info("provisioning: no ESP partition; nothing to import from it")
		return provision.Result{}
	}
	var r provision.Result
	err = provision.ESP(esp.Device, espMount, func(dir string) error {
		if r = provision.RunBackup(dir, b.store, b.backupTarget()); r.File == "" {
			r = provision.Run(dir, b.store)
		}
		return nil
	})
	if err != nil {
		b.log.Warn("provisioning: ESP", "err", err)
	}
	return r
}

// provisionFromConfigDrive reads the drives a hypervisor attaches for
// cloud-init, read-only.
func (b *pid1) provisionFromConfigDrive() provision.Result {
	vols := configdrive.Find("/sys", "/dev")
	if len(vols) == 0 {
		b.log.Info("provisioning: no config drive (cidata, config-2, or an ISO or FAT volume)")
		return provision.Result{}
	}
	for _, v := range vols {
		b.log.Info(fmt.Sprintf("provisioning: looking at %s", v))
	}
	return configdrive.Run(vols, configdrive.KernelMounter{}, configDriveMount, b.store)
}

// loadConfig is boot step 7: the newest readable generation of the store,
// or setup mode.
func (b *pid1) loadConfig() {
	if b.perm.Mounted {
		s, err := config.OpenStore(configDir)
		if err != nil {
			b.problem("config store: %v", err)
		} else {
			b.store = s
		}
	}
	if b.store != nil {
		c, info, err := b.store.Load()
		if errors.Is(err, config.ErrNoConfig) {
			b.provisionUnattended()
			c, info, err = b.store.Load()
		}
		switch {
		case errors.Is(err, config.ErrNoConfig):
			b.log.Info("config: none saved yet")
		case err != nil:
			b.problem("config: %v", err)
		default:
			b.cfg, b.cfgSeq = c, info.Seq
			host := c.WithDefaults().System.Hostname
			if info.FellBack() {
				b.problem("config: %s", info)
			}
			b.log.Info(fmt.Sprintf("config: %s (hostname %s, %d tunnels)", info, host, len(c.Tunnels)))
		}
	}
	if b.cfg.Admin.PasswordHash.IsZero() {
		b.enterSetupMode()
	}
}

// enterSetupMode makes a new one-time setup code. The web UI reads it from
// a RAM file; it is gone at reboot.
func (b *pid1) enterSetupMode() string {
	code := newSetupCode()
	b.mu.Lock()
	b.setupMode, b.setupCode = true, code
	b.mu.Unlock()
	os.MkdirAll("/run/tunneler", 0o700)
	os.WriteFile(setupCodeFile, []byte(code), 0o600)
	return code
}

func (b *pid1) currentSetupCode() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.setupMode {
		return ""
	}
	return b.setupCode
}

// startNetwork is boot step 8: the config's network, then its firewall.
// Without a config the box runs the defaults (first NIC WAN, second LAN,
// DHCP) with the full default ruleset, so the setup page is reachable.
func (b *pid1) startNetwork() {
	b.applier = &apply.Applier{Firewall: apply.NFTables{}, Resolver: net.DefaultResolver,
		Logf: func(format string, args ...any) { b.log.Info(fmt.Sprintf(format, args...)) }}
	last := map[string]string{}
	m, err := netconf.New(netconf.Options{OnEvent: func(e netconf.Event) {
		// Retries (NTP with no network) repeat themselves: say each once.
		key := e.Interface + "/" + e.Kind
		if last[key] != e.Message {
			last[key] = e.Message
			if e.Kind == "error" {
				b.log.Warn(e.String())
			} else {
				b.log.Info(e.String())
			}
		}
		// Roles and DNS feed the firewall: interface names, peer names.
		if e.Kind == "bind" || e.Kind == "dns" || e.Kind == "dhcp" && strings.HasPrefix(e.Message, "lease ") {
			if err := b.applier.Refresh(context.Background()); err != nil {
				b.log.Warn("firewall refresh", "err", err)
			}
		}
	}})
	if err != nil {
		b.problem("network: %v", err)
	} else {
		b.net = m
		b.applier.Net = m // before Apply: no bind event comes earlier
	}
	if err := b.applier.Apply(context.Background(), b.cfg); err != nil {
		b.problem("apply config: %v", err)
	}
}

func (b *pid1) menu() *console.Menu {
	formatPerm := console.Item{Key: "8", Title: "Format /perm (erases all settings)", Confirm: "This erases every setting, key and log on /perm.",
		Shown: func() bool { return !b.perm.Mounted && b.perm.Partition.Device != "" },
		Run: func(w io.Writer) error {
			if err := perm.FormatAndMount(b.perm.Partition, permDir, b.runCommand); err != nil {
				return err
			}
			b.perm.Mounted, b.perm.Formatted, b.perm.Problem = true, true, ""
			fmt.Fprintf(w, "/perm formatted and mounted. Rebooting to start afresh.\n")
			b.requests.Ask(power.Reboot, "after formatting /perm")
			return nil
		}}
	ops := &opmenu.Menu{
		Settings:     b.owner,
		TestHooks:    b.cmdline.Debug("testhooks"),
		FactoryReset: b.factoryReset,
		NetStatus:    b.netStatus,
		PrintStatus: func(w io.Writer) {
			b.printBanner()
			for _, l := range b.siteMenu().Lines() { // sites and alarms (init/sites.go)
				fmt.Fprintf(w, " %s\n", l)
			}
		},
		Firewall:  readFirewallCounters,
		SetupCode: b.currentSetupCode,
		EnterSetupMode: func() string {
			code := b.enterSetupMode()
			b.log.Info("setup mode: a new setup code is shown on the console")
			return code
		},
		Logs:     b.logs.Lines,
		Reboot:   func(reason string) { b.requests.Ask(power.Reboot, reason) },
		PowerOff: func(reason string) { b.requests.Ask(power.PowerOff, reason) },
		Logf:     func(format string, args ...any) { b.log.Info(fmt.Sprintf(format, args...)) },
		// Test hook behind the debug entry's admin password.
		KillCharon: b.killCharon,
	}
	if in := b.installer(); in != nil {
		ops.Installer = in
	}
	if b.firmware != nil { // a nil *update.Firmware must stay a nil interface
		ops.Firmware = b.firmware
	}
	return &console.Menu{Title: "Tunneler " + version + " — console menu", Items: ops.Items(append(append([]console.Item{formatPerm}, ops.RouterItems(b.routerMenu())...), ops.SiteItems(b.siteMenu())...)...)}
}

// installer installs the box from the disk it booted from (a USB stick)
// onto an internal disk; nil when there is no Tunneler disk to copy.
func (b *pid1) installer() *install.Installer {
	esp, err := perm.Find("/sys", perm.ESPName)
	if err != nil {
		return nil
	}
	in := &install.Installer{Sysfs: "/sys", DevDir: "/dev", BootPart: esp.Name,
		MountESP: provision.ESP, ESPDir: newESPMount}
	if _, err := os.Stat(efiVars); err == nil {
		in.EFIVars = efiVars
	}
	if b.owner != nil {
		in.Backup = func(w io.Writer, passphrase string) error {
			if _, _, ok := b.owner.Config(); !ok {
				return install.ErrNothingToCarry
			}
			return b.owner.Backup(w, passphrase)
		}
	}
	return in
}

func (b *pid1) netStatus() (netconf.Status, error) {
	if b.net == nil {
		return netconf.Status{}, errors.New("the network manager did not start")
	}
	return b.net.Status()
}

// debugSaveLoop is the tunneler.debug=saveloop test hook: saves loop until
// the power is cut.
func (b *pid1) debugSaveLoop() {
	if b.store == nil {
		b.log.Error("saveloop: no config store")
		return
	}
	base := b.cfg
	b.log.Warn("tunneler.debug=saveloop: saving the config in a loop until the power is cut")
	go func() {
		err := opmenu.SaveLoop(context.Background(), b.store, base, 25, func(format string, args ...any) {
			b.log.Info(fmt.Sprintf(format, args...))
		})
		b.log.Error("saveloop ended", "err", err)
	}()
}
