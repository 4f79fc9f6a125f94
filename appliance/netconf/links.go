package netconf

import (
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// watchLinks follows link changes: when a bound link comes back up, its
// configuration is applied again (the kernel dropped its routes when it went
// down) and its DHCP client confirms the lease at once.
func (m *Manager) watchLinks(ready chan<- struct{}) {
	defer m.wg.Done()
	for first := true; m.ctx.Err() == nil; first = false {
		ch := make(chan netlink.LinkUpdate, 64)
		done := make(chan struct{})
		err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
			Namespace: m.opts.Netns,
			ErrorCallback: func(err error) {
				if m.ctx.Err() == nil { // closing the subscription errs too
					m.emit("", "", "error", "link updates: %v", err)
				}
			},
		})
		if first {
			close(ready)
		}
		if err != nil {
			m.emit("", "", "error", "subscribe to link updates: %v", err)
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(time.Second):
				continue
			}
		}
	loop:
		for {
			select {
			case <-m.ctx.Done():
				close(done)
				go func() {
					for range ch {
					}
				}()
				return
			case u, ok := <-ch:
				if !ok {
					break loop // the subscription failed: subscribe again
				}
				m.linkChanged(u)
			}
		}
		close(done)
	}
}

func (m *Manager) linkChanged(u netlink.LinkUpdate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	idx := u.Attrs().Index
	if u.Header.Type == unix.RTM_DELLINK {
		delete(m.linkUp, idx)
		return
	}
	up, state := linkState(u.Link)
	was, known := m.linkUp[idx]
	m.linkUp[idx] = up
	var f *iface
	for _, x := range m.ifaces {
		if x.nic.Index == idx {
			f = x
		}
	}
	if f == nil || (known && was == up) {
		return
	}
	m.emit(f.nic.Name, f.role, "link", "%s", state)
	if !up {
		return
	}
	for _, err := range m.reconcile(true) {
		m.emit(f.nic.Name, f.role, "error", "%v", err)
	}
	if f.dhcp != nil && known {
		f.dhcp.rebootNow()
	}
}
