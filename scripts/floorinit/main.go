// Command floorinit is the trivial /init of the boot benchmarks' floor
// (issue 20): Debian's stock kernel runs it, it prints one line on the
// console and waits. The time from qemu's start to that line is the least
// any image on that kernel can take; the box is measured against it.
package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	// The initramfs has empty /dev and no /proc: the kernel makes no
	// console node there, so mount both first.
	os.Mkdir("/proc", 0o755)
	unix.Mount("proc", "/proc", "proc", 0, "")
	unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	up, _ := os.ReadFile("/proc/uptime")
	secs, _, _ := strings.Cut(string(up), " ")
	console, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		console = os.Stdout
	}
	fmt.Fprintf(console, "floor: /init reached after %ss of kernel\n", secs)
	for {
		unix.Pause() // PID 1 must not exit
	}
}
