package testenv

import (
	"strings"
	"testing"
)

func TestNetnsIsolated(t *testing.T) {
	a := NewNetns(t, "a")
	b := NewNetns(t, "b")
	Veth(t, a, "va", b, "vb")
	a.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "va")
	b.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "vb")
	out := a.Run(t, "ping", "-c1", "-W2", "192.0.2.2")
	if !strings.Contains(out, "1 received") {
		t.Fatalf("ping across the veth pair: %s", out)
	}
	if strings.Contains(Run(t, "ip", "-o", "link"), "va") {
		t.Fatalf("veth end va leaked into the host namespace")
	}
}
