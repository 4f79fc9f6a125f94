package vmtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAptShow(t *testing.T) {
	out := `Package: linux-image-cloud-amd64
Source: linux-signed-amd64 (6.1.192+3)
Version: 6.1.192-3
Depends: linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)
Description: Linux for x86-64 cloud
 (meta-package)

Package: busybox-static
Version: 1:1.35.0-4+deb12u1+b1
Description-en: Standalone rescue shell
`
	got := parseAptShow(out)
	want := map[string]aptPackage{
		"linux-image-cloud-amd64": {version: "6.1.192-3", depends: "linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)"},
		"busybox-static":          {version: "1:1.35.0-4+deb12u1+b1"},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(aptPackage{})); d != "" {
		t.Errorf("parseAptShow (-want +got):\n%s", d)
	}
	if k := firstDepends(got["linux-image-cloud-amd64"].depends); k != "linux-image-6.1.0-57-cloud-amd64" {
		t.Errorf("kernel package = %q", k)
	}
	if k := firstDepends("a | b (>= 1), c"); k != "a" {
		t.Errorf("firstDepends of alternatives = %q, want a", k)
	}
}

// The cache key changes with any package's version, and not with the
// order apt lists them in.
func TestRemoteImageKey(t *testing.T) {
	base := map[string]string{"libreswan": "4.10-2", "strongswan-charon": "5.9.8-5"}
	same := map[string]string{"strongswan-charon": "5.9.8-5", "libreswan": "4.10-2"}
	newer := map[string]string{"libreswan": "4.10-2+deb12u1", "strongswan-charon": "5.9.8-5"}
	if remoteImageKey(base) != remoteImageKey(same) {
		t.Error("the key depends on map order")
	}
	if remoteImageKey(base) == remoteImageKey(newer) {
		t.Error("a new libreswan version keeps the old key: the cached image would be stale")
	}
}

func TestModuleClosure(t *testing.T) {
	dep := `kernel/net/ipv4/esp4.ko: kernel/net/xfrm/xfrm_algo.ko kernel/crypto/authenc.ko
kernel/net/xfrm/xfrm_algo.ko:
kernel/crypto/authenc.ko:
kernel/crypto/ghash-generic.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko
kernel/drivers/net/net_failover.ko:
`
	builtin := "kernel/crypto/hmac.ko\n"
	got, err := moduleClosure(dep, builtin, []string{"esp4", "ghash_generic", "hmac", "authenc"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kernel/crypto/authenc.ko", "kernel/crypto/ghash-generic.ko", "kernel/net/ipv4/esp4.ko", "kernel/net/xfrm/xfrm_algo.ko"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("moduleClosure (-want +got):\n%s", d)
	}
	if _, err := moduleClosure(dep, builtin, []string{"nosuch"}); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("an unknown module: err = %v, want one naming it", err)
	}
}
