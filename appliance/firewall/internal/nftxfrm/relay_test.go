package nftxfrm

import (
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// The nftables socket's buffers hold a head-end's whole-table batch and
// its acks, past the kernel's rmem_max and wmem_max (root, as init is).
func TestGrowBuffersPassesTheLimits(t *testing.T) {
	testenv.RequireRoot(t)
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	growBuffers(nl)
	raw, err := nl.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) {
		for name, opt := range map[string]int{"SO_SNDBUF": unix.SO_SNDBUF, "SO_RCVBUF": unix.SO_RCVBUF} {
			// The kernel reports twice what was set (its bookkeeping).
			if got, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt); err != nil || got < batchBuffer {
				t.Errorf("%s = %d, %v; want at least %d", name, got, err, batchBuffer)
			}
		}
	})
}
