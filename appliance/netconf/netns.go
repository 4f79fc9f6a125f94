package netconf

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetns runs fn with its sockets created in network namespace ns (nil: the
// caller's). fn runs on a fresh goroutine whose OS thread joins ns and is
// never given back: the runtime ends the thread when the goroutine exits, so
// no other goroutine can ever land in the wrong namespace, even if
// switching back would have failed. Sockets keep their namespace for life,
// so what fn opens may be used from any goroutine afterwards.
func inNetns(ns *netns.NsHandle, fn func() error) error {
	if ns == nil {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // deliberately never unlocked
		if err := netns.Set(*ns); err != nil {
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
