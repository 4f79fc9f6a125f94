package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
)

var (
	initSecsRe = regexp.MustCompile(`boot: kernel ([0-9.]+)s, init ([0-9.]+)s to banner`)
	memRe      = regexp.MustCompile(`memory: (\d+) MiB in use`)
)

// floorLineRe is the one line floorinit prints.
var floorLineRe = regexp.MustCompile(`floor: /init reached`)

// BenchmarkBoot measures, for each firmware path, the seconds from starting
// qemu to the banner, the kernel's and init's share, and the memory in use
// at the banner. Each boot is a fresh box (first boot: /perm is made).
// In the same run and with the same qemu arguments it measures the floor
// (issue 20): Debian's stock 6.1 kernel with a trivial /init that prints
// one line (scripts/floorinit), booted the same way.
func BenchmarkBoot(b *testing.B) {
	im := vmtest.LoadImage(b)
	floor := newFloor(b, im)
	for _, fw := range []vmtest.Firmware{vmtest.Direct, vmtest.BIOS, vmtest.UEFI} {
		b.Run(string(fw), func(b *testing.B) {
			var total, kernel, init, mem, floorSecs float64
			for i := 0; i < b.N; i++ {
				start := time.Now()
				fvm := vmtest.Start(b, im, floor.options(fw))
				if _, err := fvm.Console.Expect(floorLineRe, bootTimeout); err != nil {
					b.Fatalf("floor: %v", err)
				}
				floorSecs += time.Since(start).Seconds()
				fvm.Kill()
			}
			for i := 0; i < b.N; i++ {
				start := time.Now()
				vm := vmtest.Start(b, im, vmtest.Options{Firmware: fw})
				m, err := vm.Console.Expect(initSecsRe, bootTimeout)
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start).Seconds()
				k, _ := strconv.ParseFloat(m[1], 64)
				in, _ := strconv.ParseFloat(m[2], 64)
				kernel += k
				init += in
				mm, err := vm.Console.Expect(memRe, 5*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				v, _ := strconv.ParseFloat(mm[1], 64)
				mem += v
				vm.Kill()
			}
			n := float64(b.N)
			b.ReportMetric(floorSecs/n, "s-floor-qemu-to-line")
			b.ReportMetric(total/floorSecs, "box-to-floor-ratio")
			b.ReportMetric(total/n, "s-qemu-to-banner")
			b.ReportMetric(kernel/n, "s-kernel-to-init")
			b.ReportMetric(init/n, "s-init-to-banner")
			b.ReportMetric(mem/n, "MiB-in-use-at-banner")
		})
	}
}

// floor is Debian's kernel with floorinit as its initramfs: as files for a
// direct boot, and on a copy of the box's disk (slot a) for BIOS and UEFI.
type floor struct{ kernel, initrd, disk string }

func newFloor(b *testing.B, im *vmtest.Image) floor {
	testenv.RequireCommand(b, "cpio", "dpkg-deb", "apt-get")
	dir := b.TempDir()
	f := floor{kernel: debianKernel(b), initrd: filepath.Join(dir, "initrd")}
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "dev"), 0o755)
	build := exec.Command("go", "build", "-o", filepath.Join(root, "init"), "./scripts/floorinit")
	build.Dir = moduleRoot(b)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build floorinit: %v\n%s", err, out)
	}
	pack := exec.Command("sh", "-c", "printf 'init\\ndev\\n' | cpio -o -H newc -R 0:0 --quiet > "+f.initrd)
	pack.Dir = root
	if out, err := pack.CombinedOutput(); err != nil {
		b.Fatalf("pack the floor's initramfs: %v\n%s", err, out)
	}
	f.disk = espDiskFiles(b, im, map[string]string{"a/vmlinuz": f.kernel, "a/initrd": f.initrd})
	return f
}

// options boots the floor the way the box is booted by fw.
func (f floor) options(fw vmtest.Firmware) vmtest.Options {
	if fw == vmtest.Direct {
		return vmtest.Options{Firmware: fw, Kernel: f.kernel, Initrd: f.initrd}
	}
	return vmtest.Options{Firmware: fw, Disk: f.disk}
}

// debianKernel is the vmlinuz of Debian's linux-image-amd64, unpacked in
// the build cache (downloaded once with apt-get when missing).
func debianKernel(b *testing.B) string {
	build, err := vmtest.BuildDir()
	if err != nil {
		b.Fatal(err)
	}
	cache := filepath.Join(build, "cache")
	find := func() string {
		k, _ := filepath.Glob(filepath.Join(cache, "linux-image-*-amd64", "boot", "vmlinuz-*"))
		sort.Strings(k)
		if len(k) == 0 {
			return ""
		}
		return k[len(k)-1]
	}
	if k := find(); k != "" {
		return k
	}
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		b.Fatalf("which kernel is linux-image-amd64: %v", err)
	}
	var pkg string
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(p, "linux-image-") {
			pkg = p
		}
	}
	os.MkdirAll(cache, 0o755)
	dl := exec.Command("apt-get", "download", pkg)
	dl.Dir = cache
	if out, err := dl.CombinedOutput(); err != nil {
		b.Fatalf("apt-get download %s: %v\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(cache, pkg+"_*.deb"))
	if len(debs) == 0 {
		b.Fatalf("apt-get download %s left no .deb in %s", pkg, cache)
	}
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], filepath.Join(cache, pkg)).CombinedOutput(); err != nil {
		b.Fatalf("unpack %s: %v\n%s", debs[0], err, out)
	}
	if k := find(); k != "" {
		return k
	}
	b.Fatalf("no vmlinuz in %s", pkg)
	return ""
}

// moduleRoot is the folder of go.mod, where `go build ./scripts/...` runs.
func moduleRoot(b *testing.B) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		b.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// BenchmarkImageSize reports the size of each artifact in MB (10^6 bytes).
func BenchmarkImageSize(b *testing.B) {
	im := vmtest.LoadImage(b)
	for i := 0; i < b.N; i++ {
	}
	for _, f := range []string{"vmlinuz", "initrd", "disk.img", "disk.qcow2", "disk.vmdk", "tunneler.ova", "disk.vhdx", "disk.img.zst"} {
		b.ReportMetric(float64(im.Manifest.Sizes[f])/1e6, "MB-"+f)
	}
}
