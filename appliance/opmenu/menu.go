// Package opmenu is the operator's console menu, in the style of pfSense
// and OPNsense: status, interface roles, the LAN address, the setup code,
// resetting the admin password, factory reset, ping, logs, reboot and
// power off. Changes go through the owner of the running box
// (appliance/control), as the web UI's do, so neither overwrites the
// other's. init supplies the box's surfaces in a Menu.
package opmenu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/adminpw"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/control"
	"github.com/tunneler/tunneler/appliance/diag"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/netconf"
)

// Settings is the owner of the running box as the menu uses it
// (control.Owner): every change is based on the generation it edited.
type Settings interface {
	Config() (c config.Config, generation int, ok bool)
	Save(ctx context.Context, ch control.Change) (config.FieldErrors, error)
	Progress(after int) []control.ApplyEvent
	AdminHash() string
	// Status is the one snapshot the web UI and /metrics show too.
	Status() control.Status
	// Trial is the change on trial (nil: none); the console confirms or
	// reverts it like any browser.
	Trial() *control.TrialStatus
	ConfirmTrial(by control.Source) error
	RevertTrial(by control.Source) error
}

// Menu is the operator's console menu and what it acts on.
type Menu struct {
	// Settings saves and applies changes; nil leaves nothing to change.
	Settings Settings
	// ApplyWait bounds how long a change's progress is shown (30s).
	ApplyWait time.Duration
	// TestHooks shows the entries only the system tests use (the kernel
	// command line's tunneler.debug=testhooks).
	TestHooks bool
	// FactoryReset erases the config store and reboots, as the web UI's
	// does; nil without /perm.
	FactoryReset func() error
	// NetStatus reports the NICs and their roles.
	NetStatus func() (netconf.Status, error)
	// PrintStatus prints the banner (interfaces, storage, setup code).
	PrintStatus func(w io.Writer)
	// Firewall reads the firewall's counters per rule; nil leaves them
	// off the status screen.
	Firewall func() ([]firewall.RuleCounter, error)
	// SetupCode is the current one-time code, "" outside setup mode.
	SetupCode func() string
	// EnterSetupMode makes and shows a new setup code (after the admin
	// password is reset) and returns it.
	EnterSetupMode func() string
	// Logs returns init's recent log lines.
	Logs func() []string
	// Reboot and PowerOff ask PID 1 to stop cleanly.
	Reboot   func(reason string)
	PowerOff func(reason string)
	// Logf records what the operator did (never a secret).
	Logf func(format string, args ...any)
	// Ping runs a planned ping (appliance/diag's by default; tests
	// replace it).
	Ping func(ctx context.Context, p *diag.Ping, w io.Writer) error
	// KillCharon is a test hook offered behind the debug entry's password:
	// it SIGKILLs charon so a system test can show the supervisor brings
	// the tunnels back and no cleartext leaks meanwhile. nil hides it.
	KillCharon func() (pid int, err error)
	// Installer installs the box onto an internal disk; nil hides the
	// entry (a box not booted from a disk).
	Installer Installer
	// WrongPasswordDelay slows down guessing at the debug entry (2s).
	WrongPasswordDelay time.Duration

	mu sync.Mutex // one dialog's change at a time across consoles
}

func (b *Menu) logf(format string, args ...any) {
	if b.Logf != nil {
		b.Logf(format, args...)
	}
}

// Items returns the menu; extra items (init's "format /perm") are placed
// before reboot and power off, which keep keys 9 and 0.
func (b *Menu) Items(extra ...console.Item) []console.Item {
	items := []console.Item{
		{Key: "1", Title: "Status", Run: b.status},
		{Key: "2", Title: "Assign interfaces (WAN/LAN by MAC)", Dialog: b.assign},
		{Key: "3", Title: "Set LAN address", Dialog: b.setLAN},
		{Key: "4", Title: "Show setup code", Run: b.showSetupCode},
		{Key: "5", Title: "Reset admin password (back to setup mode)", Confirm: "The admin password is removed; the web UI asks for a new setup code.", Run: b.resetAdmin},
		{Key: "6", Title: "Ping", Dialog: b.ping},
		{Key: "7", Title: "View logs", Run: b.viewLogs},
	}
	items = append(items, extra...)
	items = append(items,
		console.Item{Key: "9", Title: "Reboot", Confirm: "Reboot the box?", Run: func(w io.Writer) error {
			b.Reboot("console menu")
			return nil
		}},
		console.Item{Key: "0", Title: "Power off", Confirm: "Power the box off?", Run: func(w io.Writer) error {
			b.PowerOff("console menu")
			return nil
		}},
		console.Item{Key: "10", Title: "Factory reset (erases the config, reboots)",
			Confirm: "This erases every setting, tunnel and key in the config store and reboots.", Run: b.factoryReset},
		console.Item{Key: "20", Title: "Install to internal disk", Shown: func() bool { return b.Installer != nil }, Dialog: b.installToDisk},
		console.Item{Key: "11", Title: "Debug shell (test hook; asks for the admin password)", Shown: func() bool { return b.TestHooks }, Dialog: b.debugShell},
		console.Item{Key: "18", Title: "Confirm the change on trial (keep it)", Shown: b.onTrial, Run: b.confirmTrial},
		console.Item{Key: "19", Title: "Go back from the change on trial now", Shown: b.onTrial, Confirm: "The box goes back to the settings before the change.", Run: b.revertTrial},
	)
	return items
}

// current returns the newest saved config (secrets hidden) and its
// generation, or an empty one (setup mode, nothing saved yet).
func (b *Menu) current() (config.Config, int, error) {
	if b.Settings == nil {
		return config.Config{}, 0, errors.New("/perm is not mounted: settings cannot be saved")
	}
	c, gen, ok := b.Settings.Config()
	if !ok {
		return config.Config{Version: config.CurrentVersion}, gen, nil
	}
	return c, gen, nil
}

// change edits the newest config and saves it through the owner, based on
// the generation it edited: a change made elsewhere meanwhile is never
// overwritten. It then shows the apply's progress.
func (b *Menu) change(w io.Writer, what string, edit func(config.Config) (config.Config, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, gen, err := b.current()
	if err != nil {
		return err
	}
	c, err = edit(c)
	if err != nil {
		var fe config.FieldErrors
		if errors.As(err, &fe) {
			fmt.Fprintf(w, "Not saved:\n")
			for _, e := range fe {
				fmt.Fprintf(w, "  %s\n", e.Error())
			}
			return errors.New("nothing changed")
		}
		return err
	}
	last := 0
	if evs := b.Settings.Progress(0); len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	fe, err := b.Settings.Save(context.Background(), control.Change{Config: c, Base: gen, Source: control.FromConsole})
	if len(fe) > 0 {
		fmt.Fprintf(w, "Not saved:\n")
		for _, e := range fe {
			fmt.Fprintf(w, "  %s\n", e.Error())
		}
		return errors.New("nothing changed")
	}
	if err != nil {
		return fmt.Errorf("not saved: %w", err)
	}
	_, seq, _ := b.Settings.Config()
	b.logf("console menu: %s (config generation %d)", what, seq)
	fmt.Fprintf(w, "Saved as config generation %d.\n", seq)
	return b.showApply(w, last)
}

// showApply prints the apply's steps as they happen until the network
// part is done (tunnels take longer; the status screen shows them).
func (b *Menu) showApply(w io.Writer, after int) error {
	wait := b.ApplyWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		for _, e := range b.Settings.Progress(after) {
			after = e.Seq
			fmt.Fprintf(w, "  %s: %s\n", e.Step, e.Message)
			if e.Step == "network" && e.State != "running" || e.Done {
				if e.State == "failed" {
					return fmt.Errorf("saved, but applying it failed: %s", e.Message)
				}
				fmt.Fprintf(w, "Applied.\n")
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(w, "Still applying; the status screen shows how it goes.\n")
	return nil
}

func (b *Menu) status(w io.Writer) error {
	if b.PrintStatus != nil {
		b.PrintStatus(w)
	}
	if b.Firewall != nil {
		for _, l := range FirewallLines(b.Firewall()) {
			fmt.Fprintf(w, " %s\n", l)
		}
	}
	if b.Settings == nil {
		return nil
	}
	c, seq, err := b.current()
	if err != nil {
		fmt.Fprintf(w, " Config: %v\n", err)
		return nil
	}
	for _, l := range StatusLines(c, seq) {
		fmt.Fprintf(w, " %s\n", l)
	}
	st := b.Settings.Status()
	if l := TrialLine(st.Trial, time.Now()); l != "" {
		fmt.Fprintf(w, " %s\n", l)
	}
	for _, l := range TunnelLines(st) {
		fmt.Fprintf(w, " %s\n", l)
	}
	return nil
}

// TunnelLines is each tunnel's (and each site remote's) state now, in the
// snapshot's colour: the same word the web UI and the JSON API show.
func TunnelLines(st control.Status) []string {
	var out []string
	for _, t := range st.Tunnels {
		l := fmt.Sprintf("Tunnel %s is %s", t.Name, t.Colour)
		if t.Site != "" {
			l = fmt.Sprintf("Tunnel %s (site %s) is %s", t.Name, t.Site, t.Colour)
		}
		if t.WeakCrypto {
			l += " (weak crypto: legacy preset)"
		}
		if t.Reason != "" {
			l += ": " + t.Reason
		}
		out = append(out, l)
		out = append(out, MismatchLines(t)...)
	}
	return out
}

// MismatchLines are the indented details under a tunnel's line: both
// sides of a mismatch, NAT and the device's vendor IDs, from the snapshot.
func MismatchLines(t control.TunnelStatus) []string {
	var out []string
	if m := t.Mismatch; m != nil {
		if len(m.Offered) > 0 {
			out = append(out, "  remote device offered: "+strings.Join(m.Offered, ", "))
		}
		if len(m.Accepted) > 0 {
			out = append(out, "  this tunnel accepts:   "+strings.Join(m.Accepted, ", "))
		}
		switch {
		case m.PresetWeak:
			out = append(out, fmt.Sprintf("  matching preset:       %s, with the weak-crypto acknowledgment", m.Preset))
		case m.Preset != "":
			out = append(out, fmt.Sprintf("  matching preset:       %s", m.Preset))
		case m.NoPreset:
			out = append(out, "  matching preset:       none (the device offers only algorithms this box does not allow)")
		}
		if m.ProposedTS != "" {
			out = append(out, "  device proposed:       "+m.ProposedTS)
		}
		if m.ConfiguredTS != "" {
			out = append(out, "  configured networks:   "+m.ConfiguredTS)
		}
		if m.SentID != "" {
			out = append(out, "  device sent ID:        "+m.SentID)
		}
		if m.ExpectedID != "" {
			out = append(out, "  expected ID:           "+m.ExpectedID)
		}
	}
	if len(t.NAT) > 0 {
		out = append(out, "  NAT:                   "+strings.Join(t.NAT, "; "))
	}
	if len(t.VendorIDs) > 0 {
		out = append(out, "  device vendor IDs:     "+strings.Join(t.VendorIDs, ", "))
	}
	return out
}

// StatusLines summarises the config for the status screen: generation,
// hostname, LAN settings, tunnels and router. No secret appears.
func StatusLines(c config.Config, seq int) []string {
	if seq == 0 {
		return []string{"Config: none saved yet (setup mode)"}
	}
	d := c.WithDefaults()
	out := []string{fmt.Sprintf("Config: generation %d, hostname %s", seq, d.System.Hostname)}
	for _, i := range d.Interfaces {
		how := string(i.Mode)
		if i.Mode == config.ModeStatic {
			how = "static " + i.Address.String()
		}
		bind := "by PCI order"
		if i.MAC != "" {
			bind = "MAC " + i.MAC
		}
		out = append(out, fmt.Sprintf("  %-4s %s (%s)", i.Role, how, bind))
	}
	if len(d.Tunnels) == 0 {
		out = append(out, "Tunnels: none configured")
	}
	for _, t := range d.Tunnels {
		var nets []string
		for _, n := range t.RemoteNetworks {
			nets = append(nets, n.String())
		}
		out = append(out, fmt.Sprintf("Tunnel %s: %s to %s, %s mode, remote %s", t.Name, t.IKEVersion, t.PeerAddress, t.Mode, strings.Join(nets, ", ")))
	}
	// Whether the router is enrolled and connected is on the banner's
	// Router line: the identity on /perm says so, not this document.
	out = append(out, fmt.Sprintf("Router settings: intercepts %s, inside address %s", d.Router.InterceptRange, d.Router.InsideAddress))
	return out
}

func (b *Menu) assign(s *console.Session) error {
	st, err := b.NetStatus()
	if err != nil {
		return err
	}
	if len(st.Interfaces) == 0 {
		return errors.New("no network interfaces found")
	}
	s.Printf("Network interfaces (PCI order):\n")
	for i, n := range st.Interfaces {
		role := string(n.Role)
		if role == "" {
			role = "-"
		}
		s.Printf("  %d) %-10s %s  now: %s\n", i+1, n.Name, n.MAC, role)
	}
	pick := func(q string, allowNone bool) (string, bool, error) {
		a, ok := s.Ask(q)
		if !ok {
			return "", false, io.EOF
		}
		if allowNone && (a == "" || strings.EqualFold(a, "none")) {
			return "", true, nil
		}
		n, err := strconv.Atoi(a)
		if err != nil || n < 1 || n > len(st.Interfaces) {
			return "", false, fmt.Errorf("%q is not one of 1 to %d", a, len(st.Interfaces))
		}
		return st.Interfaces[n-1].MAC.String(), true, nil
	}
	wan, _, err := pick(fmt.Sprintf("WAN interface (1-%d): ", len(st.Interfaces)), false)
	if err != nil {
		return err
	}
	lan := ""
	if len(st.Interfaces) > 1 {
		if lan, _, err = pick(fmt.Sprintf("LAN interface (1-%d, or none): ", len(st.Interfaces)), true); err != nil {
			return err
		}
	}
	return b.change(s, fmt.Sprintf("interfaces assigned: WAN %s, LAN %s", wan, orNone(lan)), func(c config.Config) (config.Config, error) {
		return AssignRoles(c, wan, lan)
	})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (b *Menu) setLAN(s *console.Session) error {
	if c, _, err := b.current(); err == nil {
		d := c.WithDefaults()
		for _, i := range d.Interfaces {
			if i.Role == config.RoleLAN {
				now := string(i.Mode)
				if i.Mode == config.ModeStatic {
					now = "static " + i.Address.String()
				}
				s.Printf("LAN is now: %s\n", now)
			}
		}
	}
	a, ok := s.Ask("New LAN address (like 192.168.1.1/24), or dhcp: ")
	if !ok {
		return io.EOF
	}
	return b.change(s, "LAN address set to "+a, func(c config.Config) (config.Config, error) {
		return SetLAN(c, a)
	})
}

func (b *Menu) showSetupCode(w io.Writer) error {
	code := ""
	if b.SetupCode != nil {
		code = b.SetupCode()
	}
	if code == "" {
		fmt.Fprintf(w, "The box has an admin password, so there is no setup code. Use 5 to reset the password.\n")
		return nil
	}
	fmt.Fprintf(w, "Setup code: %s\n", code)
	return nil
}

func (b *Menu) resetAdmin(w io.Writer) error {
	if err := b.change(w, "admin password reset", func(c config.Config) (config.Config, error) {
		return ResetAdmin(c), nil
	}); err != nil {
		return err
	}
	code := b.EnterSetupMode()
	fmt.Fprintf(w, "Admin password removed. SETUP MODE. Setup code: %s\n", code)
	return nil
}

func (b *Menu) ping(s *console.Session) error {
	a, ok := s.Ask("Address to ping: ")
	if !ok {
		return io.EOF
	}
	target, err := netip.ParseAddr(a)
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		found, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip4", a)
		cancel()
		if lerr != nil || len(found) == 0 {
			return fmt.Errorf("%q is not an IPv4 address or a name that resolves", a)
		}
		target = found[0]
	}
	ping := b.Ping
	if ping == nil {
		ping = runPing
	}
	c, _, _ := b.current() // no tunnels known: the kernel picks the source
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return ping(ctx, pingFor(c, target), s)
}

// MaxLogLines bounds what "view logs" prints.
const MaxLogLines = 200

func (b *Menu) viewLogs(w io.Writer) error {
	lines := b.Logs()
	if len(lines) > MaxLogLines {
		lines = lines[len(lines)-MaxLogLines:]
	}
	fmt.Fprintf(w, "--- last %d log lines ---\n", len(lines))
	for _, l := range lines {
		fmt.Fprintf(w, "%s\n", l)
	}
	fmt.Fprintf(w, "--- end of log ---\n")
	return nil
}

// Wipe removes every file of the config store (all generations and
// secrets) and syncs the directory.
func Wipe(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("wipe config store: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		if err := d.Sync(); err != nil {
			errs = append(errs, err)
		}
		d.Close()
	}
	return errors.Join(errs...)
}

func (b *Menu) factoryReset(w io.Writer) error {
	if b.FactoryReset == nil {
		return errors.New("/perm is not mounted: there is no config store to erase (use 8 to format /perm)")
	}
	if err := b.FactoryReset(); err != nil {
		return err
	}
	b.logf("console menu: factory reset: config store erased")
	fmt.Fprintf(w, "Config erased. Rebooting into setup mode.\n")
	return nil
}

func (b *Menu) debugShell(s *console.Session) error {
	if b.Settings == nil {
		return errors.New("/perm is not mounted: no admin password is kept")
	}
	hash := b.Settings.AdminHash()
	if hash == "" {
		s.Printf("No admin password is set (setup mode). Set one in the web UI first; the debug entry needs it.\n")
		return nil
	}
	pw, ok := s.AskSecret("Admin password: ")
	if !ok {
		return io.EOF
	}
	if err := adminpw.Verify(hash, pw); err != nil {
		b.logf("console menu: debug shell: wrong admin password")
		delay := b.WrongPasswordDelay
		if delay == 0 {
			delay = 2 * time.Second
		}
		time.Sleep(delay)
		return errors.New("wrong password")
	}
	b.logf("console menu: debug shell: admin password accepted; no shell is installed")
	s.Printf("Password accepted, but this image has no shell installed (by design).\n")
	s.Printf("Use the entries of this menu or the web UI.\n")
	if b.KillCharon != nil {
		ans, ok := s.Ask("Test hook: type kill-charon to kill charon with SIGKILL, or Enter to go back: ")
		if !ok {
			return io.EOF
		}
		if strings.TrimSpace(ans) == "kill-charon" {
			pid, err := b.KillCharon()
			if err != nil {
				return fmt.Errorf("kill charon: %w", err)
			}
			b.logf("console menu: test hook: charon (pid %d) killed with SIGKILL", pid)
			s.Printf("charon (pid %d) killed with SIGKILL; the supervisor restarts it.\n", pid)
		}
	}
	return nil
}

// onTrial reports whether a change is on trial.
func (b *Menu) onTrial() bool { return b.Settings != nil && b.Settings.Trial() != nil }

func (b *Menu) confirmTrial(w io.Writer) error {
	t := b.Settings.Trial()
	if err := b.Settings.ConfirmTrial(control.FromConsole); err != nil {
		return err
	}
	fmt.Fprintf(w, "Generation %d confirmed: it stays.\n", t.Generation)
	return nil
}

func (b *Menu) revertTrial(w io.Writer) error {
	t := b.Settings.Trial()
	if err := b.Settings.RevertTrial(control.FromConsole); err != nil {
		return err
	}
	fmt.Fprintf(w, "Going back from generation %d to the settings of generation %d.\n", t.Generation, t.Previous)
	return nil
}

// TrialLine is the status screen's line for a running trial.
func TrialLine(t *control.TrialStatus, now time.Time) string {
	if t == nil {
		return ""
	}
	left := t.Deadline.Sub(now).Round(time.Second)
	if left < 0 {
		left = 0
	}
	return fmt.Sprintf("TRIAL: generation %d goes back to generation %d in %s unless confirmed (entry 18 here, the web UI's banner, or POST /api/trial/confirm)", t.Generation, t.Previous, left)
}
