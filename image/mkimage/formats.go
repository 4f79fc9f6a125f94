package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// The disk in the other formats hypervisors and USB sticks take. Each is
// made from disk.img by a step of its own, so an unchanged disk skips them.
const (
	vmdkName = "disk.vmdk"         // VMware, VirtualBox; stream-optimised
	vhdxName = "disk.vhdx"         // Hyper-V generation 2
	ovaName  = "tunneler.ova"      // the VMDK with its OVF and manifest
	ovfName  = "tunneler.ovf"      // inside the OVA
	mfName   = "tunneler.mf"       // inside the OVA, last
	zstName  = "disk.img.zst"      // raw, compressed, for dd to a stick or SD card
	zstSum   = zstName + ".sha256" // sha256sum -c reads it
)

// vmMemoryMiB is what the OVF asks for. The box uses 73 MiB at the banner
// and the router ~41 MiB once connected; 512 MiB is what every system test
// boots with (scripts/vmtest), so it is the size known to work, with room
// for charon's SAs and the web UI.
const vmMemoryMiB = 512

// buildVMDK converts the raw disk to a stream-optimised VMDK: compressed
// grains, the subformat ESXi's OVA import and VirtualBox both accept.
func (b *builder) buildVMDK() error {
	disk := filepath.Join(b.out, "disk.img")
	vmdk := filepath.Join(b.out, vmdkName)
	return b.step("vmdk (stream-optimised)", []string{disk}, "v1", []string{vmdk}, func() error {
		return qemuConvert(disk, vmdk, "vmdk", "subformat=streamOptimized")
	})
}

// buildVHDX converts the raw disk to a dynamic VHDX for Hyper-V generation
// 2 (UEFI; the disk's systemd-boot is not signed, so Secure Boot is off).
func (b *builder) buildVHDX() error {
	disk := filepath.Join(b.out, "disk.img")
	vhdx := filepath.Join(b.out, vhdxName)
	return b.step("vhdx (Hyper-V generation 2)", []string{disk}, "v1", []string{vhdx}, func() error {
		return qemuConvert(disk, vhdx, "vhdx", "subformat=dynamic")
	})
}

func qemuConvert(src, dst, format, options string) error {
	os.Remove(dst + ".new")
	if err := sh("qemu-img", "convert", "-f", "raw", "-O", format, "-o", options, src, dst+".new"); err != nil {
		return err
	}
	return os.Rename(dst+".new", dst)
}

// buildOVA packs the VMDK with an OVF that describes the VM and a SHA-256
// manifest into an OVA.
func (b *builder) buildOVA() error {
	vmdk := filepath.Join(b.out, vmdkName)
	ova := filepath.Join(b.out, ovaName)
	vm := b.vmSpec()
	return b.step("ova (ovf, vmdk, manifest)", []string{vmdk}, fmt.Sprintf("v1 %+v", vm), []string{ova}, func() error {
		return writeOVA(ova, vm, vmdk)
	})
}

func (b *builder) vmSpec() vmSpec {
	return vmSpec{
		Name:         "tunneler",
		Version:      b.version,
		CPUs:         1,
		MemoryMiB:    vmMemoryMiB,
		DiskFile:     vmdkName,
		DiskCapacity: diskSize,
		Networks:     []string{"WAN", "LAN"},
	}
}

// buildZst compresses the raw disk for writing to a USB stick or an SD
// card (zstd -d, then dd; or straight from the .zst with tools that take
// it), with its SHA-256 beside it.
func (b *builder) buildZst() error {
	disk := filepath.Join(b.out, "disk.img")
	zst := filepath.Join(b.out, zstName)
	sum := filepath.Join(b.out, zstSum)
	return b.step("disk.img.zst (USB stick, SD card)", []string{disk}, "v1", []string{zst, sum}, func() error {
		os.Remove(zst + ".new")
		if err := sh("zstd", "-q", "-19", "-T0", "-o", zst+".new", disk); err != nil {
			return err
		}
		if err := os.Rename(zst+".new", zst); err != nil {
			return err
		}
		line, err := sha256Line(zst)
		if err != nil {
			return err
		}
		return os.WriteFile(sum, []byte(line), 0o644)
	})
}

// sha256Line is the line sha256sum prints for path (by its base name, so
// sha256sum -c works in the folder the two files are copied to).
func sha256Line(path string) (string, error) {
	h, _, err := sha256File(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s  %s\n", h, filepath.Base(path)), nil
}

func sha256File(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// vmSpec is what the OVF says about the virtual machine.
type vmSpec struct {
	Name, Version string
	CPUs          int
	MemoryMiB     int
	DiskFile      string // the VMDK's name inside the OVA
	DiskFileSize  int64  // filled in by writeOVA
	DiskCapacity  int64  // bytes the guest sees
	Networks      []string
}

// writeOVA writes the OVA: a ustar archive whose first member is the OVF
// (importers read it before the disk, and ESXi streams the rest), then the
// VMDK, then the manifest of SHA-256 sums over both (OVF 1.0 §5.1).
func writeOVA(path string, vm vmSpec, vmdk string) error {
	diskSum, diskSize, err := sha256File(vmdk)
	if err != nil {
		return err
	}
	vm.DiskFileSize = diskSize
	ovf, err := renderOVF(vm)
	if err != nil {
		return err
	}
	ovfSum := sha256.Sum256(ovf)
	mf := fmt.Sprintf("SHA256(%s)= %s\nSHA256(%s)= %s\n", ovfName, hex.EncodeToString(ovfSum[:]), vm.DiskFile, diskSum)

	f, err := os.Create(path + ".new")
	if err != nil {
		return err
	}
	defer os.Remove(path + ".new")
	tw := tar.NewWriter(f)
	now := time.Now().UTC().Truncate(time.Second)
	add := func(name string, size int64, body io.Reader) error {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: now, Format: tar.FormatUSTAR, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("ova: header of %s: %w", name, err)
		}
		if _, err := io.Copy(tw, body); err != nil {
			return fmt.Errorf("ova: write %s: %w", name, err)
		}
		return nil
	}
	disk, err := os.Open(vmdk)
	if err != nil {
		f.Close()
		return err
	}
	defer disk.Close()
	for _, m := range []struct {
		name string
		size int64
		body io.Reader
	}{
		{ovfName, int64(len(ovf)), bytes.NewReader(ovf)},
		{vm.DiskFile, diskSize, disk},
		{mfName, int64(len(mf)), strings.NewReader(mf)},
	} {
		if err := add(m.name, m.size, m.body); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return fmt.Errorf("ova: close tar: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".new", path)
}

// renderOVF writes the OVF 1.0 envelope. OVF 1.0 rather than 2.x because
// every importer reads it (ESXi, Workstation, VirtualBox, Proxmox's
// qm importovf). The hardware is what the generic board has drivers for:
// an AHCI SATA disk and E1000 NICs (no vmxnet3, no pvscsi in
// board/generic/modules).
func renderOVF(vm vmSpec) ([]byte, error) {
	var buf bytes.Buffer
	if err := ovfTemplate.Execute(&buf, vm); err != nil {
		return nil, fmt.Errorf("render ovf: %w", err)
	}
	return buf.Bytes(), nil
}

// ovfAnnotation tells whoever imports the OVA which firmware to pick.
const ovfAnnotation = `Tunneler {{x .Version}}: a site-to-site VPN appliance.
Firmware: EFI (set here) or BIOS both boot this disk; pick EFI with Secure Boot off (its boot loader is not signed). BIOS works where the hypervisor has no EFI.
NIC 1 is WAN (IKE, ESP), NIC 2 is LAN (web UI at https://LAN-ADDRESS/). Serial console: COM1, 115200 8N1; the VGA console shows the same menu.`

// xmlEscape makes a value safe in XML text and attributes (a version from
// git describe is not trusted to be).
func xmlEscape(s string) string {
	var buf bytes.Buffer
	xml.EscapeText(&buf, []byte(s))
	return buf.String()
}

var ovfTemplate = template.Must(template.New("ovf").Funcs(template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"x":   xmlEscape,
}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:id="file1" ovf:href="{{x .DiskFile}}" ovf:size="{{.DiskFileSize}}"/>
  </References>
  <DiskSection>
    <Info>The box's disk: ESP (slots a and b) and /perm</Info>
    <Disk ovf:capacity="{{.DiskCapacity}}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>The box's networks, WAN first</Info>
{{- range .Networks}}
    <Network ovf:name="{{x .}}">
      <Description>{{x .}}</Description>
    </Network>
{{- end}}
  </NetworkSection>
  <VirtualSystem ovf:id="{{x .Name}}">
    <Info>Tunneler {{x .Version}}</Info>
    <Name>{{x .Name}}</Name>
    <AnnotationSection>
      <Info>How to run it</Info>
      <Annotation>{{template "annotation" .}}</Annotation>
    </AnnotationSection>
    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest">
      <Info>Linux 64-bit</Info>
      <Description>Linux 64-bit</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>{{.CPUs}} vCPU, {{.MemoryMiB}} MiB, a SATA disk, {{len .Networks}} E1000 NICs, a serial port</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{{x .Name}}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of virtual CPUs</rasd:Description>
        <rasd:ElementName>{{.CPUs}} virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.CPUs}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory size</rasd:Description>
        <rasd:ElementName>{{.MemoryMiB}} MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.MemoryMiB}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>SATA controller (AHCI)</rasd:Description>
        <rasd:ElementName>sataController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>vmware.sata.ahci</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>disk0</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
{{- range $i, $n := .Networks}}
      <Item>
        <rasd:AddressOnParent>{{add $i 1}}</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>{{x $n}}</rasd:Connection>
        <rasd:Description>E1000 ethernet adapter on {{x $n}}</rasd:Description>
        <rasd:ElementName>{{x $n}}</rasd:ElementName>
        <rasd:InstanceID>{{add $i 5}}</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
{{- end}}
      <Item ovf:required="false">
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Description>Serial console, 115200 8N1</rasd:Description>
        <rasd:ElementName>serial0</rasd:ElementName>
        <rasd:InstanceID>{{add (len .Networks) 5}}</rasd:InstanceID>
        <rasd:ResourceSubType>vmware.serialport.device</rasd:ResourceSubType>
        <rasd:ResourceType>21</rasd:ResourceType>
      </Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
      <vmw:Config ovf:required="false" vmw:key="bootOptions.efiSecureBootEnabled" vmw:value="false"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
{{define "annotation"}}` + ovfAnnotation + `{{end}}`))
