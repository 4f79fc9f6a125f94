package netconf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
)

// Lease is what a DHCP server granted.
type Lease struct {
	Address netip.Prefix
	Server  netip.Addr
	Router  netip.Addr
	DNS     []netip.Addr
	Domain  string
	Search  []string
	// Obtained is when the server acknowledged; Renew (T1), Rebind (T2)
	// and Expiry follow from the lease times it gave.
	Obtained, Renew, Rebind, Expiry time.Time
}

func leaseFrom(l *nclient4.Lease) *Lease {
	ack := l.ACK
	ip, _ := netip.AddrFromSlice(ack.YourIPAddr.To4())
	mask := ack.SubnetMask()
	if mask == nil {
		mask = ack.YourIPAddr.DefaultMask()
	}
	ones, _ := mask.Size()
	if ones == 0 {
		ones = 32
	}
	out := &Lease{Address: netip.PrefixFrom(ip, ones), Obtained: l.CreationTime}
	if s, ok := netip.AddrFromSlice(ack.ServerIdentifier().To4()); ok {
		out.Server = s
	}
	if rs := ack.Router(); len(rs) > 0 {
		if r, ok := netip.AddrFromSlice(rs[0].To4()); ok && !r.IsUnspecified() {
			out.Router = r
		}
	}
	for _, d := range ack.DNS() {
		if a, ok := netip.AddrFromSlice(d.To4()); ok {
			out.DNS = append(out.DNS, a)
		}
	}
	out.Domain = ack.DomainName()
	if ds := ack.DomainSearch(); ds != nil {
		out.Search = ds.Labels
	}
	lt := ack.IPAddressLeaseTime(time.Hour)
	out.Expiry = out.Obtained.Add(lt)
	out.Renew = out.Obtained.Add(ack.IPAddressRenewalTime(lt / 2))
	out.Rebind = out.Obtained.Add(ack.IPAddressRebindingTime(lt * 7 / 8))
	return out
}

// dhcpClient runs the DHCP client state machine of one interface (RFC 2131
// section 4.4): INIT, BOUND, RENEWING at T1, REBINDING at T2, back to INIT
// at expiry; a kick (the link came back up) sends it to INIT-REBOOT, asking
// for the address it had. It reports leases through onLease, nil when a
// lease is lost. Cancelling its context releases the lease.
type dhcpClient struct {
	ifname   string
	hostname string
	newConn  func(ifname string, opts ...nclient4.ClientOpt) (*nclient4.Client, error)
	timeout  time.Duration
	retries  int
	onLease  func(*Lease)
	onEvent  func(kind, msg string)
	kick     chan struct{}
	done     chan struct{}
	cancel   context.CancelFunc
}

func (c *dhcpClient) start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.kick = make(chan struct{}, 1)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		c.run(ctx)
	}()
}

// stop asks the client to release its lease and exit; it does not wait, so
// it is safe to call while holding the lock onLease takes.
func (c *dhcpClient) stop() { c.cancel() }

// rebootNow makes the client confirm its lease at once.
func (c *dhcpClient) rebootNow() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *dhcpClient) modifiers(requested net.IP) []dhcpv4.Modifier {
	var mods []dhcpv4.Modifier
	if c.hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(c.hostname)))
	}
	if requested != nil {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(requested)))
	}
	return mods
}

// wait sleeps until d passes, the client is kicked or ctx ends; it reports
// whether it was kicked, and false for ok when ctx ended.
func (c *dhcpClient) wait(ctx context.Context, d time.Duration) (kicked, ok bool) {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-c.kick:
		return true, true
	case <-t.C:
		return false, true
	}
}

func (c *dhcpClient) run(ctx context.Context) {
	var (
		conn   *nclient4.Client
		raw    *nclient4.Lease
		reboot bool
	)
	defer func() {
		if conn == nil {
			return
		}
		if raw != nil {
			if err := conn.Release(raw); err != nil {
				c.onEvent("dhcp", fmt.Sprintf("release %v: %v", raw.ACK.YourIPAddr, err))
			} else {
				c.onEvent("dhcp", fmt.Sprintf("released %v", raw.ACK.YourIPAddr))
			}
		}
		conn.Close()
	}()
	closeConn := func() {
		if conn != nil {
			conn.Close()
			conn = nil
		}
	}
	backoff := time.Second
	for ctx.Err() == nil {
		if conn == nil {
			var err error
			conn, err = c.newConn(c.ifname, nclient4.WithTimeout(c.timeout), nclient4.WithRetry(c.retries))
			if err != nil {
				c.onEvent("error", fmt.Sprintf("open DHCP socket: %v", err))
				conn = nil
				if _, ok := c.wait(ctx, backoff); !ok {
					return
				}
				backoff = min(backoff*2, 30*time.Second)
				continue
			}
		}
		if raw == nil || reboot {
			var want net.IP
			if raw != nil {
				want = raw.ACK.YourIPAddr
			}
			l, err := conn.Request(ctx, c.modifiers(want)...)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !errors.Is(err, nclient4.ErrNoResponse) {
					closeConn() // the socket may be bad, e.g. the link was replaced
				}
				if reboot && raw != nil && time.Now().Before(leaseFrom(raw).Expiry) {
					// Keep the old lease until it runs out.
					reboot = false
					c.onEvent("dhcp", fmt.Sprintf("could not confirm lease: %v", err))
					continue
				}
				c.onEvent("dhcp", fmt.Sprintf("no lease: %v", err))
				kicked, ok := c.wait(ctx, backoff)
				if !ok {
					return
				}
				if !kicked {
					backoff = min(backoff*2, 30*time.Second)
				}
				continue
			}
			raw, reboot, backoff = l, false, time.Second
			c.onLease(leaseFrom(raw))
		}
		// BOUND until T1.
		lease := leaseFrom(raw)
		kicked, ok := c.wait(ctx, time.Until(lease.Renew))
		if !ok {
			return
		}
		if kicked {
			reboot = true
			continue
		}
		// RENEWING until T2, then REBINDING until expiry. nclient4 sends
		// both to the broadcast address; the server that granted the
		// lease answers.
		for {
			now := time.Now()
			if !now.Before(lease.Expiry) {
				c.onEvent("dhcp", fmt.Sprintf("lease on %s expired", lease.Address))
				raw = nil
				c.onLease(nil)
				break
			}
			until := lease.Rebind
			if !now.Before(until) {
				until = lease.Expiry
			}
			rctx, cancel := context.WithDeadline(ctx, until)
			l, err := conn.Renew(rctx, raw, c.modifiers(nil)...)
			cancel()
			if err == nil {
				raw = l
				c.onLease(leaseFrom(raw))
				break
			}
			if ctx.Err() != nil {
				return
			}
			var nak *nclient4.ErrNak
			if errors.As(err, &nak) {
				c.onEvent("dhcp", fmt.Sprintf("server refused renewal of %s", lease.Address))
				raw = nil
				c.onLease(nil)
				break
			}
			// RFC 2131 4.4.5: wait half the time left, at least a minute
			// (scaled down for short test leases).
			left := time.Until(until)
			kicked, ok := c.wait(ctx, max(left/2, min(time.Minute, left)))
			if !ok {
				return
			}
			if kicked {
				reboot = true
				break
			}
		}
	}
}
