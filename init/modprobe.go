package main

import (
	"fmt"
	"os"

	"github.com/tunneler/tunneler/appliance/kmod"
)

// modprobeLink is where the kernel finds us when it asks for a module by
// alias (crypto-gcm(aes), net-pf-16-proto-6, xfrm-type-2-50, ...).
const modprobeLink = "/bin/modprobe"

// modprobe answers the kernel's request_module calls: `modprobe -q -- NAME`.
func modprobe(args []string) int {
	var names []string
	for _, a := range args {
		if len(a) > 0 && a[0] == '-' {
			continue
		}
		names = append(names, a)
	}
	l, err := kmod.New("/")
	if err != nil {
		fmt.Fprintf(os.Stderr, "modprobe: %v\n", err)
		return 1
	}
	status := 0
	for _, n := range names {
		for _, m := range l.Resolve(n) {
			if err := l.Load(m); err != nil {
				status = 1
			}
		}
	}
	return status
}
