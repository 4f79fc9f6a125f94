package diag

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Capture reads packets on Interface that pass Filter, for at most
// Duration and until the file would pass MaxBytes, and writes them as a
// pcap file (link type raw IP: what Wireshark and tshark open) to the
// Output's File.
type Capture struct {
	Tunnel    string
	Interface string
	Filter    []bpf.RawInstruction
	Describe  string // what the filter keeps, for the output
	Duration  time.Duration
	MaxBytes  int
	// InboundOnly: the interface sees one direction only (policy mode's
	// decrypted traffic); said in the output.
	InboundOnly bool
}

// pcapHeader and recordHeader are pcap's fixed sizes.
const (
	pcapHeader   = 24
	recordHeader = 16
)

// Stats is what a capture took.
type Stats struct {
	Packets, Bytes int
	Stopped        string // why it ended
}

func (c *Capture) Run(ctx context.Context, out Output) error {
	w := out.Lines
	if out.File == nil {
		return errors.New("capture: no file to write to")
	}
	ifi, err := net.InterfaceByName(c.Interface)
	if err != nil {
		return fmt.Errorf("capture on %s: %w", c.Interface, err)
	}
	fd, err := openPacketSocket(ifi.Index, c.Filter)
	if err != nil {
		return fmt.Errorf("capture on %s: %w", c.Interface, err)
	}
	defer unix.Close(fd)
	fmt.Fprintf(w, "capturing %s on %s for up to %s or %d KiB\n", c.Describe, c.Interface, c.Duration, c.MaxBytes>>10)
	if c.InboundOnly {
		fmt.Fprintf(w, "policy mode: this shows what arrives from the tunnel, decrypted; what the box sends into it is encrypted before any interface sees it (the WAN preset shows that as ESP)\n")
	}
	st, err := c.read(ctx, fd, ifi.Flags&net.FlagLoopback != 0, out)
	fmt.Fprintf(w, "captured %d packets, %d bytes (%s)\n", st.Packets, st.Bytes, st.Stopped)
	return err
}

// read copies packets into the file. On loopback every packet passes
// twice, going out and coming in: the outgoing copy is skipped, as
// libpcap does.
func (c *Capture) read(ctx context.Context, fd int, loopback bool, out Output) (Stats, error) {
	pw := pcapgo.NewWriter(out.File)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeRaw); err != nil {
		return Stats{Stopped: "write failed"}, fmt.Errorf("capture: write pcap header: %w", err)
	}
	st := Stats{Bytes: pcapHeader}
	report := func() {
		if out.Progress != nil {
			out.Progress(st.Packets, st.Bytes)
		}
	}
	report()
	end := time.Now().Add(c.Duration)
	nextReport := time.Now().Add(time.Second)
	buf := make([]byte, snapLen)
	for {
		now := time.Now()
		switch {
		case ctx.Err() != nil:
			st.Stopped = "stopped"
			report()
			return st, nil
		case !now.Before(end):
			st.Stopped = "time limit"
			report()
			return st, nil
		}
		if !now.Before(nextReport) {
			report()
			nextReport = now.Add(time.Second)
		}
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			st.Stopped = "read failed"
			return st, fmt.Errorf("capture: read: %w", err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && loopback && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if st.Bytes+recordHeader+n > c.MaxBytes {
			st.Stopped = "size limit"
			report()
			return st, nil
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: n, Length: n}
		if err := pw.WritePacket(ci, buf[:n]); err != nil {
			st.Stopped = "write failed"
			return st, fmt.Errorf("capture: write packet: %w", err)
		}
		st.Packets++
		st.Bytes += recordHeader + n
	}
}

// openPacketSocket opens an AF_PACKET socket on one interface, packets
// from their IP header on, filtered in the kernel, with a read timeout
// so the loop sees its deadline.
func openPacketSocket(ifindex int, filter []bpf.RawInstruction) (int, error) {
	proto := htons(unix.ETH_P_ALL)
	// Protocol 0 receives nothing until the bind below names the
	// interface, so no packet of another interface or unfiltered is
	// queued first.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open packet socket: %w", err)
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: (*unix.SockFilter)(unsafe.Pointer(&filter[0]))}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("attach filter: %w", err)
	}
	tv := unix.NsecToTimeval((250 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("set read timeout: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind packet socket: %w", err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
