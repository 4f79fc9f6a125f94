package update

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tunneler/tunneler/appliance/efivar"
)

// Loader is the boot loader on the ESP, as far as slots go.
type Loader interface {
	Name() string
	// WriteEntry makes the boot loader know slot, as m describes it.
	WriteEntry(slot string, m Manifest) error
	// Trial makes the next boot, and only the next, start slot.
	Trial(slot string) error
	// EndTrial runs early in a trial boot of slot: from then on any
	// reboot (the watchdog after a hang, a power cut, the gate failing)
	// starts the default slot again.
	EndTrial(slot string) error
	// Commit makes slot the one every boot starts.
	Commit(slot string) error
}

// SystemdBoot is systemd-boot under UEFI: an entry per slot, the default
// in loader.conf, and the trial through the LoaderEntryOneShot variable,
// which systemd-boot clears as it boots the entry: a trial that does not
// commit is never booted twice, whatever stops it.
type SystemdBoot struct {
	ESP     string // the mounted ESP
	EFIVars string // efivarfs, /sys/firmware/efi/efivars
}

// loaderVendorGUID is systemd-boot's vendor GUID for its variables.
const loaderVendorGUID = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

func (SystemdBoot) Name() string { return "systemd-boot (UEFI)" }

func entryName(slot string) string { return "tunneler-" + slot + ".conf" }

// BootEntry is systemd-boot's entry for a slot (mkimage writes slot a's).
func BootEntry(slot, version, cmdline string) string {
	return fmt.Sprintf("title Tunneler %s (slot %s)\nversion %s\nlinux /%s/vmlinuz\ninitrd /%s/initrd\noptions %s tunneler.slot=%s\n",
		version, slot, version, slot, slot, cmdline, slot)
}

func (l SystemdBoot) WriteEntry(slot string, m Manifest) error {
	return writeFileSynced(filepath.Join(l.ESP, "loader", "entries", entryName(slot)), []byte(BootEntry(slot, m.Version, m.Cmdline)))
}

func (l SystemdBoot) Trial(slot string) error {
	return writeEFIString(l.EFIVars, "LoaderEntryOneShot-"+loaderVendorGUID, entryName(slot))
}

func (SystemdBoot) EndTrial(string) error { return nil }

func (l SystemdBoot) Commit(slot string) error {
	return writeFileSynced(filepath.Join(l.ESP, "loader", "loader.conf"),
		[]byte("default "+entryName(slot)+"\ntimeout 0\neditor no\nconsole-mode keep\n"))
}

// writeEFIString sets an EFI variable to a NUL-terminated UTF-16LE string.
func writeEFIString(dir, name, value string) error {
	return efivar.Write(dir, name, efivar.UTF16(value))
}

// Syslinux is syslinux under BIOS. It has no boot counting, so init plays
// that part: Trial makes the new slot the DEFAULT, and the new init's
// first act (EndTrial, before charon, the router or the web UI start)
// puts the old slot back as DEFAULT. A hang or power cut after that boots
// the old slot; only Commit makes the new one DEFAULT for good. The one
// gap: a new kernel that fails before init runs reboots into itself.
type Syslinux struct {
	ESP string
}

func (Syslinux) Name() string { return "syslinux (BIOS)" }

func (l Syslinux) cfgPath() string { return filepath.Join(l.ESP, "syslinux", "syslinux.cfg") }

// SyslinuxConfig is syslinux.cfg with a label per slot (cmdlines by slot).
func SyslinuxConfig(def string, cmdlines map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "DEFAULT %s\nPROMPT 0\nTIMEOUT 0\nSERIAL 0 115200\n", def)
	for _, s := range []string{"a", "b"} {
		if c, ok := cmdlines[s]; ok {
			fmt.Fprintf(&b, "LABEL %s\n  KERNEL /%s/vmlinuz\n  INITRD /%s/initrd\n  APPEND %s tunneler.slot=%s\n", s, s, s, c, s)
		}
	}
	return b.String()
}

// read parses the current config: its default and each label's command
// line (without tunneler.slot).
func (l Syslinux) read() (string, map[string]string, error) {
	data, err := os.ReadFile(l.cfgPath())
	if err != nil {
		return "", nil, err
	}
	def, label := "", ""
	cmdlines := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "DEFAULT":
			def = f[1]
		case "LABEL":
			label = f[1]
		case "APPEND":
			var keep []string
			for _, w := range f[1:] {
				if !strings.HasPrefix(w, "tunneler.slot=") {
					keep = append(keep, w)
				}
			}
			cmdlines[label] = strings.Join(keep, " ")
		}
	}
	if def == "" {
		return "", nil, errors.New("syslinux.cfg has no DEFAULT")
	}
	return def, cmdlines, nil
}

func (l Syslinux) write(def string, cmdlines map[string]string) error {
	if _, ok := cmdlines[def]; !ok {
		return fmt.Errorf("syslinux.cfg: no label for slot %s", def)
	}
	return writeFileSynced(l.cfgPath(), []byte(SyslinuxConfig(def, cmdlines)))
}

func (l Syslinux) WriteEntry(slot string, m Manifest) error {
	def, cmdlines, err := l.read()
	if err != nil {
		return err
	}
	cmdlines[slot] = m.Cmdline
	return l.write(def, cmdlines)
}

func (l Syslinux) setDefault(slot string) error {
	_, cmdlines, err := l.read()
	if err != nil {
		return err
	}
	return l.write(slot, cmdlines)
}

func (l Syslinux) Trial(slot string) error    { return l.setDefault(slot) }
func (l Syslinux) EndTrial(slot string) error { return l.setDefault(Other(slot)) }
func (l Syslinux) Commit(slot string) error   { return l.setDefault(slot) }
