package firewall

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
)

// DiverterVersion is what `-V` prints; the router logs it.
const DiverterVersion = "tunneler-diverter 1 (nftables, table inet " + TableName + ")"

// RunDiverter is the diverter command the ziti router runs (its tunnel
// binding's mode is "tproxy:/path/to/us"); init's main calls it with the
// arguments after the program name when it is invoked as the diverter,
// and exits with what it returns. The protocol, as ziti v1.7.2 speaks it:
//
//	-V                       print a version
//	-I -c IP -m LEN -p tcp|udp -o SRCIP -n SRCLEN -l LOW -h HIGH -t PORT -s SERVICEID [-N IFACE]
//	-D (the same without -t and -s)
//
// and, ours: -F flushes every intercept, -L lists them.
func RunDiverter(args []string, stdout, stderr io.Writer) int {
	cmd, err := parseDiverter(args)
	if err != nil {
		fmt.Fprintf(stderr, "diverter: %v\n", err)
		return 2
	}
	if cmd.op == "version" {
		fmt.Fprintln(stdout, DiverterVersion)
		return 0
	}
	conn, err := nftables.New()
	if err != nil {
		fmt.Fprintf(stderr, "diverter: open nftables: %v\n", err)
		return 1
	}
	var h *netlink.Handle
	if cmd.op == "insert" {
		if h, err = netlink.NewHandle(); err != nil {
			fmt.Fprintf(stderr, "diverter: open netlink: %v\n", err)
			return 1
		}
		defer h.Close()
	}
	if err := cmd.run(conn, h, stdout); err != nil {
		fmt.Fprintf(stderr, "diverter: %v\n", err)
		return 1
	}
	return 0
}

type diverterCmd struct {
	op string // version, insert, delete, flush, list
	ic Intercept
}

func parseDiverter(args []string) (diverterCmd, error) {
	fs := flag.NewFlagSet("diverter", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		version, insert, del, flush, list bool
		dst, dstLen, proto, src, srcLen   string
		low, high, tport, svc, iface      string
	)
	fs.BoolVar(&version, "V", false, "print version")
	fs.BoolVar(&insert, "I", false, "insert")
	fs.BoolVar(&del, "D", false, "delete")
	fs.BoolVar(&flush, "F", false, "flush all intercepts")
	fs.BoolVar(&list, "L", false, "list intercepts")
	fs.StringVar(&dst, "c", "", "destination address")
	fs.StringVar(&dstLen, "m", "", "destination prefix length")
	fs.StringVar(&proto, "p", "", "tcp or udp")
	fs.StringVar(&src, "o", "0.0.0.0", "source address")
	fs.StringVar(&srcLen, "n", "0", "source prefix length")
	fs.StringVar(&low, "l", "", "low port")
	fs.StringVar(&high, "h", "", "high port")
	fs.StringVar(&tport, "t", "", "tproxy port")
	fs.StringVar(&svc, "s", "", "service id")
	fs.StringVar(&iface, "N", "", "interface")
	if err := fs.Parse(args); err != nil {
		return diverterCmd{}, err
	}
	if fs.NArg() > 0 {
		return diverterCmd{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	n := 0
	for _, b := range []bool{version, insert, del, flush, list} {
		if b {
			n++
		}
	}
	if n != 1 {
		return diverterCmd{}, errors.New("want exactly one of -V, -I, -D, -F, -L")
	}
	switch {
	case version:
		return diverterCmd{op: "version"}, nil
	case flush:
		return diverterCmd{op: "flush"}, nil
	case list:
		return diverterCmd{op: "list"}, nil
	}
	var ic Intercept
	var err error
	if ic.Dst, err = parsePrefix(dst, dstLen); err != nil {
		return diverterCmd{}, fmt.Errorf("-c/-m: %w", err)
	}
	if ic.Src, err = parsePrefix(src, srcLen); err != nil {
		return diverterCmd{}, fmt.Errorf("-o/-n: %w", err)
	}
	ic.Proto = proto
	if ic.LowPort, err = parsePort(low); err != nil {
		return diverterCmd{}, fmt.Errorf("-l: %w", err)
	}
	if ic.HighPort, err = parsePort(high); err != nil {
		return diverterCmd{}, fmt.Errorf("-h: %w", err)
	}
	ic.Iface = iface
	if insert {
		if ic.TProxyPort, err = parsePort(tport); err != nil {
			return diverterCmd{}, fmt.Errorf("-t: %w", err)
		}
		if ic.TProxyPort == 0 {
			return diverterCmd{}, errors.New("-t: port 0")
		}
		ic.ServiceID = svc
	}
	ic = ic.normalize()
	if err := ic.validate(); err != nil {
		return diverterCmd{}, err
	}
	if insert {
		return diverterCmd{op: "insert", ic: ic}, nil
	}
	return diverterCmd{op: "delete", ic: ic}, nil
}

func parsePrefix(addr, bits string) (netip.Prefix, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, err
	}
	b, err := strconv.Atoi(bits)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("prefix length %q: %w", bits, err)
	}
	p, err := a.Unmap().Prefix(b)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p, nil
}

func parsePort(s string) (uint16, error) {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q: %w", s, err)
	}
	return uint16(p), nil
}

func (c diverterCmd) run(conn *nftables.Conn, h *netlink.Handle, stdout io.Writer) error {
	switch c.op {
	case "insert":
		if err := EnsureTProxyRoute(h); err != nil {
			return err
		}
		return AddIntercept(conn, c.ic)
	case "delete":
		return RemoveIntercept(conn, c.ic)
	case "flush":
		return FlushIntercepts(conn)
	case "list":
		ics, err := Intercepts(conn)
		if err != nil {
			return err
		}
		for _, ic := range ics {
			fmt.Fprintln(stdout, ic.comment())
		}
		return nil
	}
	return fmt.Errorf("unknown operation %q", c.op)
}
