package systest

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/vmtest"
)

var (
	initSecsRe = regexp.MustCompile(`boot: kernel ([0-9.]+)s, init ([0-9.]+)s to banner`)
	memRe      = regexp.MustCompile(`memory: (\d+) MiB in use`)
)

// BenchmarkBoot measures, for each firmware path, the seconds from starting
// qemu to the banner, the kernel's and init's share, and the memory in use
// at the banner. Each boot is a fresh box (first boot: /perm is made).
func BenchmarkBoot(b *testing.B) {
	im := vmtest.LoadImage(b)
	for _, fw := range []vmtest.Firmware{vmtest.Direct, vmtest.BIOS, vmtest.UEFI} {
		b.Run(string(fw), func(b *testing.B) {
			var total, kernel, init, mem float64
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
			b.ReportMetric(total/n, "s-qemu-to-banner")
			b.ReportMetric(kernel/n, "s-kernel-to-init")
			b.ReportMetric(init/n, "s-init-to-banner")
			b.ReportMetric(mem/n, "MiB-in-use-at-banner")
		})
	}
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
