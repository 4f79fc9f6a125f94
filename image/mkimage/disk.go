package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/perm"
	"github.com/tunneler/tunneler/appliance/update"
)

// Disk layout. The ESP holds two slots of kernel+initrd (a, b) so an update
// can be written beside the running one; /perm holds config and state.
const (
	mib        = 1 << 20
	espStart   = 1 * mib
	espSize    = 160 * mib
	permSize   = 256 * mib
	gptTail    = 1 * mib // room for the backup GPT
	diskSize   = espStart + espSize + permSize + gptTail
	espTypeID  = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	linuxFSID  = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	systemdEFI = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	gptMBR     = "/usr/lib/syslinux/mbr/gptmbr.bin"
)

// buildESP makes the FAT32 EFI system partition as a file: systemd-boot for
// UEFI, syslinux's config for BIOS (its boot sector is installed later, on
// the assembled disk, so it knows the partition's offset), slot a filled,
// slot b empty for a future update.
func (b *builder) buildESP() error {
	vmlinuz := filepath.Join(b.out, "vmlinuz")
	initrd := filepath.Join(b.out, "initrd")
	esp := filepath.Join(b.out, "esp.img")
	extras := filepath.Join(b.out, "extras.sqfs")
	slotManifest := filepath.Join(b.out, "slot-manifest.json")
	return b.step("ESP (systemd-boot, syslinux, slot a)", []string{vmlinuz, initrd, extras, slotManifest, systemdEFI}, b.board.Cmdline+"v4", []string{esp}, func() error {
		os.Remove(esp)
		if err := sh("mkfs.fat", "-F", "32", "-n", "TUNNELER", "-h", fmt.Sprint(espStart/512), "-C", esp, fmt.Sprint(espSize/1024)); err != nil {
			return err
		}
		files := map[string]string{
			"loader/loader.conf":             "default tunneler-a.conf\ntimeout 0\neditor no\nconsole-mode keep\n",
			"loader/entries/tunneler-a.conf": bootEntry("a", b.version, b.board.Cmdline),
			"syslinux/syslinux.cfg":          syslinuxConfig(b.board.Cmdline),
			"b/README.txt":                   "Slot b: empty until an update is written here.\n",
		}
		for _, dir := range []string{"EFI", "EFI/BOOT", "loader", "loader/entries", "syslinux", "a", "b"} {
			if err := sh("mmd", "-i", esp, "::"+dir); err != nil {
				return err
			}
		}
		tmp, err := os.MkdirTemp(b.out, "esp-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		for name, body := range files {
			p := filepath.Join(tmp, filepath.Base(name))
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				return err
			}
			if err := sh("mcopy", "-i", esp, p, "::"+name); err != nil {
				return err
			}
		}
		for src, dst := range map[string]string{systemdEFI: "EFI/BOOT/BOOTX64.EFI", vmlinuz: "a/vmlinuz", initrd: "a/initrd", extras: "a/extras.sqfs",
			slotManifest: "a/" + update.SlotManifest} {
			if err := sh("mcopy", "-i", esp, src, "::"+dst); err != nil {
				return err
			}
		}
		return nil
	})
}

// bootEntry and syslinuxConfig are the boot loaders' files for slot a;
// appliance/update writes slot b's the same way after an install.
func bootEntry(slot, version, cmdline string) string {
	return update.BootEntry(slot, version, cmdline)
}

func syslinuxConfig(cmdline string) string {
	return update.SyslinuxConfig("a", map[string]string{"a": cmdline})
}

// buildDisk assembles the GPT disk from the ESP file and a blank /perm that
// carries perm.BlankMarker, then makes it BIOS-bootable: syslinux into the
// ESP (at its offset, through mtools) and gptmbr.bin into the MBR.
func (b *builder) buildDisk() error {
	esp := filepath.Join(b.out, "esp.img")
	disk := filepath.Join(b.out, "disk.img")
	return b.step("disk image (GPT: ESP + /perm)", []string{esp, gptMBR}, "v1", []string{disk}, func() error {
		tmp := disk + ".new"
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		if err := f.Truncate(diskSize); err != nil {
			f.Close()
			return err
		}
		f.Close()
		layout := fmt.Sprintf("label: gpt\nfirst-lba: %d\n"+
			"start=%d, size=%d, type=%s, name=\"%s\", attrs=\"LegacyBIOSBootable\"\n"+
			"start=%d, size=%d, type=%s, name=\"%s\"\n",
			espStart/512,
			espStart/512, espSize/512, espTypeID, perm.ESPName,
			(espStart+espSize)/512, permSize/512, linuxFSID, perm.PartitionName)
		sf := exec.Command("sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", tmp)
		sf.Stdin = strings.NewReader(layout)
		if out, err := sf.CombinedOutput(); err != nil {
			return fmt.Errorf("sfdisk: %v\n%s", err, out)
		}
		if err := writeAt(tmp, esp, espStart, 0); err != nil {
			return err
		}
		if err := writeBytesAt(tmp, []byte(perm.BlankMarker), espStart+espSize); err != nil {
			return err
		}
		if err := sh("syslinux", "--install", "--directory", "/syslinux", "--offset", fmt.Sprint(espStart), tmp); err != nil {
			return err
		}
		if err := writeAt(tmp, gptMBR, 0, 440); err != nil {
			return err
		}
		return os.Rename(tmp, disk)
	})
}

// writeAt copies file src into dst at offset; limit > 0 copies only that many bytes.
func writeAt(dst, src string, offset int64, limit int) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if limit > 0 && len(data) > limit {
		data = data[:limit]
	}
	return writeBytesAt(dst, data, offset)
}

func writeBytesAt(dst string, data []byte, offset int64) error {
	f, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, offset); err != nil {
		f.Close()
		return fmt.Errorf("write %s at %d: %w", dst, offset, err)
	}
	return f.Close()
}

// buildQcow2 converts the raw disk to compressed qcow2 (zero areas take no
// space; qemu reads compressed clusters and writes new ones uncompressed).
func (b *builder) buildQcow2() error {
	disk := filepath.Join(b.out, "disk.img")
	q := filepath.Join(b.out, "disk.qcow2")
	return b.step("qcow2", []string{disk}, "v1", []string{q}, func() error {
		if err := sh("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", disk, q+".new"); err != nil {
			return err
		}
		return os.Rename(q+".new", q)
	})
}

// Manifest describes a built image; tests and benchmarks read it.
type Manifest struct {
	Board         string           `json:"board"`
	Version       string           `json:"version"`
	KernelVersion string           `json:"kernel_version"`
	Cmdline       string           `json:"cmdline"`
	Built         time.Time        `json:"built"`
	Sizes         map[string]int64 `json:"sizes"`
	ESPOffset     int64            `json:"esp_offset"`
	PermOffset    int64            `json:"perm_offset"`
	PermSize      int64            `json:"perm_size"`
}

func (b *builder) writeManifest() error {
	m := Manifest{Board: b.board.Name, Version: b.version, KernelVersion: b.kernelVersion,
		Cmdline: b.board.Cmdline, Built: time.Now().UTC(), Sizes: map[string]int64{},
		ESPOffset: espStart, PermOffset: espStart + espSize, PermSize: permSize}
	for _, f := range []string{"vmlinuz", "initrd", "extras.sqfs", "disk.img", "disk.qcow2",
		vmdkName, ovaName, vhdxName, zstName} {
		fi, err := os.Stat(filepath.Join(b.out, f))
		if err != nil {
			return err
		}
		m.Sizes[f] = fi.Size()
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.out, "manifest.json"), append(data, '\n'), 0o644)
}
