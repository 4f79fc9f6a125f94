// Command init is Tunneler's PID 1. It runs DESIGN.md's boot sequence and
// then supervises the box until it is asked to reboot or power off.
//
// The same binary answers under other names (a multi-call binary, as
// busybox): the ziti router runs it as its tproxy diverter.
// This file only dispatches; the sequence is in boot.go and the work in the
// appliance packages.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tunneler/tunneler/appliance/firewall"
)

// diverterName is the name the router's `mode: "tproxy:/bin/tunneler-diverter"`
// runs us under.
const diverterName = "tunneler-diverter"

// version is stamped at build time (-ldflags -X main.version=...).
var version = "dev"

func main() {
	switch filepath.Base(os.Args[0]) {
	case diverterName:
		// The ziti router calls us as its tproxy diverter.
		os.Exit(firewall.RunDiverter(os.Args[1:], os.Stdout, os.Stderr))
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "tunneler init: must run as PID 1 (it mounts, supervises and reboots the machine)")
		os.Exit(2)
	}
	boot()
}
