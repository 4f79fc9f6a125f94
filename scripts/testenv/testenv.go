// Package testenv holds the helpers every test tier shares: deciding whether
// a kernel-level or system test may run here, and making throwaway network
// namespaces for it.
//
// A test that needs root or a built image skips when run by `go test ./...`
// as an ordinary user, so unit tests run anywhere. `make test` sets
// TUNNELER_REQUIRE_ALL=1, and then a skip is a failure: CI installs what the
// tests need, so nothing may quietly skip there.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
)

// RequireAllEnv names the variable that turns skips into failures.
const RequireAllEnv = "TUNNELER_REQUIRE_ALL"

// Skip skips the test with reason, or fails it when every tier must run.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(RequireAllEnv) != "" {
		t.Fatalf("cannot run (and %s is set): %s", RequireAllEnv, reason)
	}
	t.Skip(reason)
}

// RequireRoot skips (or fails, see Skip) unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root for network namespaces and netlink")
	}
}

// RequireCommand skips (or fails) unless every named program is on PATH.
func RequireCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			Skip(t, fmt.Sprintf("needs %s on PATH (installed by .ci/run)", n))
		}
	}
}

var nsSeq atomic.Int64

// Netns is a named network namespace that lives as long as the test.
type Netns struct {
	Name   string
	handle netns.NsHandle
}

// NewNetns creates a network namespace named after the test, with lo up, and
// removes it when the test ends, even if it fails.
func NewNetns(t testing.TB, prefix string) *Netns {
	t.Helper()
	RequireRoot(t)
	name := fmt.Sprintf("tt-%s-%d-%d", prefix, os.Getpid(), nsSeq.Add(1))
	if len(name) > 40 {
		name = name[:40]
	}
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	t.Cleanup(func() { h.Close() })
	ns := &Netns{Name: name, handle: h}
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Handle returns the namespace's handle for netlink.NewHandleAt and friends.
func (n *Netns) Handle() netns.NsHandle { return n.handle }

// Run runs a command inside the namespace and fails the test if it fails.
func (n *Netns) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	return Run(t, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Command returns an unstarted command that will run inside the namespace.
func (n *Netns) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn with the calling goroutine's thread switched into the
// namespace; sockets fn opens belong to the namespace.
func (n *Netns) Do(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return fmt.Errorf("get current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(n.handle); err != nil {
		return fmt.Errorf("enter netns %s: %w", n.Name, err)
	}
	defer netns.Set(orig)
	return fn()
}

// Run runs a command on the host and fails the test with its output if it
// fails; it returns the combined output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Veth connects two namespaces with a veth pair named a and b (b is moved
// into nb), both up. Either namespace may be nil for the host's.
func Veth(t testing.TB, na *Netns, a string, nb *Netns, b string) {
	t.Helper()
	Run(t, "ip", "link", "add", a, "type", "veth", "peer", "name", b)
	if na != nil {
		Run(t, "ip", "link", "set", a, "netns", na.Name)
		na.Run(t, "ip", "link", "set", a, "up")
	} else {
		Run(t, "ip", "link", "set", a, "up")
		t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	}
	if nb != nil {
		Run(t, "ip", "link", "set", b, "netns", nb.Name)
		nb.Run(t, "ip", "link", "set", b, "up")
	} else {
		Run(t, "ip", "link", "set", b, "up")
	}
}
