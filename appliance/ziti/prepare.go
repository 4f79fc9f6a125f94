package ziti

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/nftables"
	"github.com/tunneler/tunneler/appliance/atomicfile"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/vishvananda/netlink"
)

// Prepare is the supervise.Service Prepare hook: before each start of
// the router it renders the config from the current settings and the
// enrollment, puts the inside address (with the range's prefix, scope
// host) on lo so the DNS resolver can bind it, and flushes intercepts a
// previous run left: the router does no cleanup with a diverter, and a
// killed router cleans up nothing at all.
func (r *Router) Prepare(ctx context.Context) error {
	if err := r.Tidy(); err != nil {
		return fmt.Errorf("prepare router: %w", err)
	}
	if err := r.WriteConfig(); err != nil {
		return err
	}
	s := r.Settings()
	dns, err := DNSRange(s.Router)
	if err != nil {
		return fmt.Errorf("prepare router: %w", err)
	}
	if err := r.addLoopback(dns); err != nil {
		return fmt.Errorf("prepare router: %w", err)
	}
	if err := r.flushIntercepts(); err != nil {
		return fmt.Errorf("prepare router: %w", err)
	}
	return nil
}

// WriteConfig renders the router's config for the current settings and
// enrollment and writes it atomically (0600: it names the key's path).
func (r *Router) WriteConfig() error {
	e, err := r.Enrolled()
	if err != nil {
		return err
	}
	s := r.Settings()
	s.Controllers = e.Controllers
	b, err := Render(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.Paths.Config), 0o700); err != nil {
		return fmt.Errorf("write router config: %w", err)
	}
	if err := atomicfile.Write(s.Paths.Config, b, 0o600); err != nil {
		return fmt.Errorf("write router config: %w", err)
	}
	return nil
}

// addLoopback brings lo up and adds p (inside address/range bits) to it with scope host,
// exactly as the router itself would (tunnel/router.AddLocalAddress), so
// the router's own attempt finds it there.
func (r *Router) addLoopback(p netip.Prefix) error {
	h, err := r.netlinkHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	// netconf brings lo up at boot; this covers a router started without
	// it (tests): its edge and health listeners bind 127.0.0.1, which the
	// kernel puts on lo only when it goes up.
	if lo.Attrs().Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("set lo up: %w", err)
		}
	}
	want := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}, Scope: int(netlink.SCOPE_HOST)}
	if err := h.AddrAdd(lo, want); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("add %s to lo: %w", p, err)
	}
	return nil
}

func (r *Router) netlinkHandle() (*netlink.Handle, error) {
	if r.inNS() {
		h, err := netlink.NewHandleAt(r.NetNS)
		if err != nil {
			return nil, fmt.Errorf("netlink in namespace: %w", err)
		}
		return h, nil
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return h, nil
}

func (r *Router) flushIntercepts() error {
	var opts []nftables.ConnOption
	if r.inNS() {
		opts = append(opts, nftables.WithNetNSFd(int(r.NetNS)))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	defer conn.CloseLasting()
	return firewall.FlushIntercepts(conn)
}
