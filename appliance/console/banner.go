package console

import (
	"fmt"
	"strings"
)

// Interface is one network interface as the banner shows it.
type Interface struct {
	Name  string
	Role  string // wan, lan, or empty before roles are known
	MAC   string
	Up    bool
	Addrs []string
}

// BannerInfo is what the end-of-boot banner shows.
type BannerInfo struct {
	Version    string
	Slot       string
	Kernel     string
	Interfaces []Interface
	Perm       string // one line on the data partition
	PermOK     bool
	Boots      int  // 0 when /perm is not there to count them
	LastClean  bool // how the previous boot ended
	SetupMode  bool
	SetupCode  string
	Problems   []string
	KernelSecs float64 // kernel start to /init
	InitSecs   float64 // /init to banner
	MemUsedKiB int64
	MemTotKiB  int64
	// Router is one line on the OpenZiti router (connected to its
	// controller or not); "" leaves the line out.
	Router string
	// Firmware is one line on the other slot and the last update
	// (update.Status.Line); "" leaves the line out.
	Firmware string
	// WebUIFingerprint is the SHA-256 of the web UI's certificate, made on
	// the box at first boot: the operator checks the browser's warning
	// against it. Empty when the web UI has no certificate.
	WebUIFingerprint string
	// WebUI lists the web UI's addresses (https://...), empty while the
	// management side has none yet: the banner is printed again when
	// they change.
	WebUI []string
}

// Banner renders the banner: who the box is, how to reach it, and what to
// do next. The "boot:" and "memory:" lines are also read by benchmarks.
func Banner(b BannerInfo) string {
	var sb strings.Builder
	line := strings.Repeat("=", 64)
	fmt.Fprintf(&sb, "\n%s\n Tunneler %s (slot %s, kernel %s)\n%s\n", line, b.Version, b.Slot, b.Kernel, line)
	fmt.Fprintf(&sb, " Interfaces:\n")
	if len(b.Interfaces) == 0 {
		fmt.Fprintf(&sb, "   (no network interfaces found)\n")
	}
	for _, i := range b.Interfaces {
		state := "down"
		if i.Up {
			state = "up"
		}
		addrs := "no address"
		if len(i.Addrs) > 0 {
			addrs = strings.Join(i.Addrs, ", ")
		}
		role := i.Role
		if role == "" {
			role = "-"
		}
		fmt.Fprintf(&sb, "   %-8s %-4s %-17s %-4s %s\n", i.Name, role, i.MAC, state, addrs)
	}
	fmt.Fprintf(&sb, " Storage:    %s\n", b.Perm)
	if b.Router != "" {
		fmt.Fprintf(&sb, " Router:     %s\n", b.Router)
	}
	if b.Firmware != "" {
		fmt.Fprintf(&sb, " Firmware:   %s\n", b.Firmware)
	}
	switch {
	case b.Boots == 1:
		fmt.Fprintf(&sb, " Boot 1: first boot\n")
	case b.Boots > 1 && b.LastClean:
		fmt.Fprintf(&sb, " Boot %d: the last shutdown was clean\n", b.Boots)
	case b.Boots > 1:
		fmt.Fprintf(&sb, " Boot %d: the last shutdown was NOT clean (power cut, crash or watchdog reset)\n", b.Boots)
	}
	for _, p := range b.Problems {
		fmt.Fprintf(&sb, " PROBLEM:    %s\n", p)
	}
	fmt.Fprintf(&sb, " boot: kernel %.2fs, init %.2fs to banner\n", b.KernelSecs, b.InitSecs)
	fmt.Fprintf(&sb, " memory: %d MiB in use of %d MiB\n", b.MemUsedKiB/1024, b.MemTotKiB/1024)
	switch {
	case len(b.WebUI) > 0:
		fmt.Fprintf(&sb, " Web UI:     %s\n", strings.Join(b.WebUI, "  "))
	default:
		fmt.Fprintf(&sb, " Web UI:     waiting for a LAN address (the banner is shown again then)\n")
	}
	if b.WebUIFingerprint != "" {
		fmt.Fprintf(&sb, " Web UI certificate SHA-256:\n   %s\n", b.WebUIFingerprint)
	}
	fmt.Fprintf(&sb, "%s\n", line)
	if b.SetupMode {
		fmt.Fprintf(&sb, " SETUP MODE. Setup code: %s\n", b.SetupCode)
		fmt.Fprintf(&sb, " Open the web UI above and enter the setup code,\n")
		fmt.Fprintf(&sb, " or press Enter here for the console menu.\n")
	} else {
		fmt.Fprintf(&sb, " Running. Manage it in the web UI above, or press Enter here for the console menu.\n")
	}
	fmt.Fprintf(&sb, "%s\n", line)
	return sb.String()
}
