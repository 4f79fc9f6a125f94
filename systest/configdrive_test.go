package systest

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

// Issue 19's config drive, as a hypervisor attaches it: a fresh box with
// a second drive labelled cidata comes up with its tunnel to a stock
// strongSwan site, with no console and no web step. First a cidata ISO
// holding tunneler.json on the CD-ROM drive, then a CIDATA FAT disk
// holding a NoCloud user-data that carries it in write_files. The box
// never writes to either drive.
func TestConfigDriveBringsUpTunnel(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	site := vmtest.RemoteSiteOptions{Name: "site1", WANAddr: "192.0.2.2/24", BoxAddr: boxWAN,
		SiteNet: "10.9.0.0/24", PSK: sitePSK}
	for _, tc := range []struct {
		name  string
		drive func(t *testing.T, config string) vmtest.Drive
		from  string
		file  string
	}{
		{"iso", func(t *testing.T, config string) vmtest.Drive {
			return vmtest.Drive{File: configISO(t, "cidata", map[string]string{"tunneler.json": config}), CDROM: true}
		}, "the config drive cidata (sr0)", "tunneler.json"},
		{"nocloud-user-data", func(t *testing.T, config string) vmtest.Drive {
			return vmtest.Drive{File: configFAT(t, "CIDATA", map[string]string{
				"meta-data": "instance-id: box-1\n",
				"user-data": "#cloud-config\nwrite_files:\n  - path: /etc/tunneler/tunneler.json\n    content: |\n      " +
					strings.ReplaceAll(strings.TrimSpace(config), "\n", "\n      ") + "\n",
			})}
		}, "the config drive CIDATA (vdb)", "user-data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := vmtest.NewLab(t)
			rs := vmtest.NewRemoteSite(t, lab, "wan", site)
			drive := tc.drive(t, boxConfig(t, site))
			before := fileSum(t, drive.File)
			vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, MemoryMiB: 768, Drives: []vmtest.Drive{drive},
				Lab: lab, NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}}})
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("remote site's charon:\n%s", tail(rs.Log(), 60))
				}
			})
			banner := expectBanner(t, vm, "direct")
			out := vm.Console.Output()
			for _, want := range []string{
				"provisioning: imported " + tc.file + " from " + tc.from + " as config generation 1",
				"provisioning: " + tc.file + ": left as it is on " + tc.from + ", with its secrets: detach the drive",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("console lacks %q:\n%s", want, vm.Console.Tail(60))
				}
			}
			if setupRe.MatchString(banner) || strings.Contains(banner, "PROBLEM:    provisioning") {
				t.Errorf("the box is not provisioned:\n%s", banner)
			}
			expectTunnelCarriesTraffic(t, vm, rs, site.Name)
			menu(t, vm, "0", true)
			if err := vm.Wait(shutdownTimeout); err != nil {
				t.Fatal(err)
			}
			if fileSum(t, drive.File) != before {
				t.Errorf("the box wrote to the config drive, which it was not asked to erase")
			}
		})
	}
}

// An invalid tunneler.json on a cidata ISO is reported as the ESP's is:
// each problem on the console, the PROBLEM line on the banner naming the
// file and the drive, setup mode, and the status note the web UI shows.
func TestConfigDriveInvalidFileReported(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	bad := `{"version": 2, "tunnels": [{"name": "Bad Name!", "peer_address": "192.0.2.2", "psk": "short", "remote_networks": ["10.9.0.0/33"]}]}`
	iso := configISO(t, "cidata", map[string]string{"tunneler.json": bad})
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Drives: []vmtest.Drive{{File: iso, CDROM: true}}})
	banner := expectBanner(t, vm, "direct")
	out := vm.Console.Output()
	for _, want := range []string{
		"provisioning: tunneler.json on the config drive cidata (sr0) NOT imported",
		"provisioning: tunneler.json: tunnels[0].name",
		"provisioning: tunneler.json: tunnels[0].psk",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, vm.Console.Tail(60))
		}
	}
	if !strings.Contains(banner, "PROBLEM:    provisioning: tunneler.json on the config drive cidata (sr0) was NOT imported") || !setupRe.MatchString(banner) {
		t.Errorf("banner does not report the file or is not in setup mode:\n%s", banner)
	}
	menu(t, vm, "0", true)
	if err := vm.Wait(shutdownTimeout); err != nil {
		t.Fatal(err)
	}
	note := vmtest.ReadPermFile(t, vm.PermImage(t), "/state/provisioning.txt")
	if !strings.Contains(note, "tunneler.json on the config drive cidata (sr0) NOT imported") || !strings.Contains(note, "tunnels[0].psk") {
		t.Errorf("status note for the web UI = %q", note)
	}
}

// configISO builds a config drive's ISO as cloud-localds and the
// hypervisors do: genisoimage with a volume label, Joliet and Rock Ridge.
func configISO(t *testing.T, label string, files map[string]string) string {
	t.Helper()
	testenv.RequireCommand(t, "genisoimage")
	src := writeTree(t, files)
	iso := filepath.Join(t.TempDir(), "config.iso")
	run(t, "genisoimage", "-quiet", "-output", iso, "-volid", label, "-joliet", "-rock", src)
	return iso
}

// configFAT builds a small FAT disk with a label, as `cloud-localds
// --filesystem vfat` does.
func configFAT(t *testing.T, label string, files map[string]string) string {
	t.Helper()
	testenv.RequireCommand(t, "mkfs.fat", "mcopy")
	img := filepath.Join(t.TempDir(), "config.img")
	run(t, "truncate", "-s", "4M", img)
	run(t, "mkfs.fat", "-n", label, img)
	src := writeTree(t, files)
	for name := range files {
		mtools(t, "mcopy", "-i", img, filepath.Join(src, name), "::"+name)
	}
	return img
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}
