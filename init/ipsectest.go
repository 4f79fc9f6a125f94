package main

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// Test hooks for the IPsec system tests. Each is clearly a test hook: the
// kill is behind the console's debug entry (admin password), the echo
// service only runs with the kernel argument tunneler.debug=tcpecho.

// killCharon SIGKILLs the supervised charon (console menu, debug entry):
// the system test shows the supervisor and the VICI client bring the
// tunnels back, and that the box's XFRM policies keep traffic from leaking
// in clear while no SA exists.
func (b *pid1) killCharon() (int, error) {
	if b.sup == nil {
		return 0, errors.New("no supervisor")
	}
	u := b.sup.Unit("charon")
	if u == nil {
		return 0, errors.New("charon is not configured (no tunnels)")
	}
	pid := u.Status().Pid
	if pid <= 0 {
		return 0, errors.New("charon is not running")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return pid, err
	}
	b.log.Warn("TEST HOOK: charon killed with SIGKILL", "pid", pid)
	return pid, nil
}

// startTCPEcho is the tunneler.debug=tcpecho test hook: a TCP echo service
// on the inside address's DNS port, where the firewall already lets tunnel
// traffic in (for the router's resolver, which runs only once enrolled).
// It lets a system test move a TCP stream across the tunnel through the
// real firewall, without opening anything the box would not open anyway.
func (b *pid1) startTCPEcho(inside netip.Addr) {
	if !b.cmdline.Debug("tcpecho") || !inside.IsValid() {
		return
	}
	addr := net.JoinHostPort(inside.String(), strconv.Itoa(53))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		b.problem("tunneler.debug=tcpecho: %v", err)
		return
	}
	b.log.Warn("TEST HOOK: tcp echo listening", "addr", addr)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}
