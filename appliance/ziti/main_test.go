package ziti

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tunneler/tunneler/appliance/firewall"
)

// TestMain lets the test binary stand in for init as the router's tproxy
// diverter: the host test points `mode: "tproxy:..."` at a symlink to it
// named tunneler-diverter, as the image does with /bin/tunneler-diverter.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == diverterName {
		os.Exit(firewall.RunDiverter(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const diverterName = "tunneler-diverter"
