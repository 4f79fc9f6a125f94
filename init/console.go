package main

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
	"net"

	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/sysinfo"
)

// What PID 1 shows on its consoles: the banner with where the web UI is,
// the menu, and the setup code.

// newSetupCode makes an 8-digit one-time code, easy to read off a console.
func newSetupCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(err) // the kernel's generator cannot fail on Linux ≥ 3.17
	}
	s := fmt.Sprintf("%08d", n)
	return s[:4] + "-" + s[4:]
}

func (b *pid1) printBanner() {
	// The time to the first banner, kept: the status screen reprints the
	// banner later and must not recompute it.
	b.bannerOnce.Do(func() { b.bannerSecs = uptime() - b.started })
	code := b.currentSetupCode()
	info := console.BannerInfo{
		Version:    version,
		Slot:       b.cmdline.Value("tunneler.slot", "direct"),
		Kernel:     sysinfo.KernelRelease(),
		Interfaces: b.interfaces(),
		PermOK:     b.perm.Mounted,
		SetupMode:  code != "",
		SetupCode:  code,
		Problems:   b.problemLines(),
		KernelSecs: b.started,
		InitSecs:   b.bannerSecs,
	}
	if b.perm.Mounted {
		info.Perm = "/perm mounted from " + b.perm.Partition.Device
		if b.perm.Formatted {
			info.Perm += " (made on this first boot)"
		}
		info.Boots = b.boot.Boots
		info.LastClean = b.boot.LastClean
	} else {
		info.Perm = "NOT MOUNTED: settings will not be kept"
	}
	if used, total, err := sysinfo.Memory("/proc"); err == nil {
		info.MemUsedKiB, info.MemTotKiB = int64(used/1024), int64(total/1024)
	}
	info.Router = b.router.BannerLine()
	if b.firmware != nil {
		info.Firmware = b.firmware.Status().Line()
	}
	info.WebUIFingerprint = b.webFingerprint()
	for _, a := range b.mgmtAddrs() {
		info.WebUI = append(info.WebUI, "https://"+a.String()+"/")
	}
	b.cons.Printf("%s", console.Banner(info))
}

// serveMenus runs the console menu on every console.
func (b *pid1) serveMenus() {
	m := b.menu()
	for _, c := range b.cons.Consoles {
		go func(c console.Console) {
			if err := m.Serve(c.File, c.File); err != nil {
				b.log.Warn("console menu ended", "console", c.Name, "err", err)
			}
		}(c)
	}
}

func (b *pid1) interfaces() []console.Interface {
	if b.net != nil {
		if st, err := b.net.Status(); err == nil && len(st.Interfaces) > 0 {
			var out []console.Interface
			for _, i := range st.Interfaces {
				ci := console.Interface{Name: i.Name, Role: string(i.Role), MAC: i.MAC.String(), Up: i.Up}
				for _, a := range i.Addresses {
					ci.Addrs = append(ci.Addrs, a.String())
				}
				out = append(out, ci)
			}
			return out
		}
	}
	ifs, _ := net.Interfaces()
	var out []console.Interface
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		ci := console.Interface{Name: i.Name, MAC: i.HardwareAddr.String(), Up: i.Flags&net.FlagUp != 0}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			ci.Addrs = append(ci.Addrs, a.String())
		}
		out = append(out, ci)
	}
	return out
}

// shortTime drops slog's date: the console is read by a person at the box.
func shortTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.String("time", a.Value.Time().Format("15:04:05"))
	}
	return a
}
