package firewall

import (
	"net"

	"golang.org/x/sys/unix"
)

func tcpMaxSeg(c net.Conn) int {
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return -1
	}
	v := -1
	rc.Control(func(fd uintptr) {
		v, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG)
	})
	return v
}
