package main

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCollect(t *testing.T) {
	in := `goos: linux
pkg: github.com/tunneler/tunneler/systest
BenchmarkBoot/direct-2         	       1	5123456789 ns/op	         5.12 s-qemu-to-banner	         0.91 s-init-to-banner
pkg: github.com/tunneler/tunneler/appliance/firewall
BenchmarkApply/peers=100-2     	      10	  15000000 ns/op	  1024 B/op	  12 allocs/op
PASS
`
	got, err := collect(strings.NewReader(in), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"systest            Boot/direct                                      5.12  s-qemu-to-banner",
		"systest            Boot/direct                                      0.91  s-init-to-banner",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}
