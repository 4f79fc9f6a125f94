package perm

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// DiskWait bounds the wait for the data partition on a box booted from a
// disk. The boot loader read the kernel from that disk, so it is there;
// behind USB it appears a second or more after init starts (the hub is
// enumerated, usb-storage waits delay_use, the SCSI scan runs). The wait
// ends at the partition's uevent, not at this bound.
const DiskWait = 15 * time.Second

// Events says when a block device may have appeared.
type Events interface {
	// Wait returns true when a block device was added, false at the
	// deadline.
	Wait(deadline time.Time) bool
	Close() error
}

// WaitFind looks for the partition, and while it is missing waits for block
// devices to appear, up to timeout. With timeout 0 it looks once: a direct
// kernel boot has no boot disk to wait for, and the built-in drivers of
// disks on PCI (virtio, AHCI, NVMe) probed them before init started.
func WaitFind(sysfs, partName string, timeout time.Duration, events Events) (Partition, error) {
	deadline := time.Now().Add(timeout)
	for {
		p, err := Find(sysfs, partName)
		if err == nil || timeout <= 0 || events == nil || !events.Wait(deadline) {
			return p, err
		}
	}
}

// ueventGroup is the multicast group the kernel sends uevents to.
const ueventGroup = 1

// BlockEvents listens to the kernel's uevents for added block devices.
type BlockEvents struct{ fd int }

// ListenBlockEvents opens the uevent socket. Listen before looking, so a
// device added in between is not missed.
func ListenBlockEvents() (*BlockEvents, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("open uevent socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: ueventGroup}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen to uevents: %w", err)
	}
	return &BlockEvents{fd: fd}, nil
}

// Wait implements Events: it reads uevents until a block device is added
// or the deadline passes.
func (e *BlockEvents) Wait(deadline time.Time) bool {
	buf := make([]byte, 8192)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		fds := []unix.PollFd{{Fd: int32(e.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			return false
		}
		m, _, err := unix.Recvfrom(e.fd, buf, 0)
		if err != nil {
			continue
		}
		if BlockAdded(buf[:m]) {
			return true
		}
	}
}

// Close implements Events.
func (e *BlockEvents) Close() error { return unix.Close(e.fd) }

// BlockAdded tells whether a uevent message ("add@/devices/...\0KEY=value
// \0...") announces a new block device or partition.
func BlockAdded(msg []byte) bool {
	var add, block bool
	for _, f := range bytes.Split(msg, []byte{0}) {
		switch string(f) {
		case "ACTION=add", "ACTION=change":
			add = true
		case "SUBSYSTEM=block":
			block = true
		}
	}
	return add && block
}
