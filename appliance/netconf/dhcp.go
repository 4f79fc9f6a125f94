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
	// inNs runs a function that opens sockets in the interface's namespace.
	inNs    func(func() error) error
	timeout time.Duration
	retries int
	onLease func(*Lease)
	onEvent func(kind, msg string)
	kick    chan struct{}
	done    chan struct{}
	cancel  context.CancelFunc
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

// open makes a DHCP socket on the interface. A socket is kept only for the
// length of an exchange: while open, the packet socket copies every IPv4
// packet on the link to us, which would tax the WAN's tunnel traffic; and
// nclient4's receive loop ends for good on the first read error (a link
// going down is one), so each exchange starts on a fresh socket.
func (c *dhcpClient) open() (*nclient4.Client, error) {
	var conn *nclient4.Client
	err := c.inNs(func() error {
		var err error
		conn, err = nclient4.New(c.ifname, nclient4.WithTimeout(c.timeout), nclient4.WithRetry(c.retries))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open DHCP socket: %w", err)
	}
	return conn, nil
}

// request runs DISCOVER-OFFER-REQUEST-ACK, asking for want if set.
func (c *dhcpClient) request(ctx context.Context, want net.IP) (*nclient4.Lease, error) {
	conn, err := c.open()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.Request(ctx, c.modifiers(want)...)
}

// renew sends a REQUEST for the lease it holds (RENEWING or REBINDING).
func (c *dhcpClient) renew(ctx context.Context, l *nclient4.Lease) (*nclient4.Lease, error) {
	conn, err := c.open()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.Renew(ctx, l, c.modifiers(nil)...)
}

func (c *dhcpClient) run(ctx context.Context) {
	var (
		raw    *nclient4.Lease // the lease held, if any
		reboot bool            // confirm raw at once: the link came back
	)
	defer func() {
		if raw == nil {
			return
		}
		if err := c.release(raw); err != nil {
			c.onEvent("dhcp", fmt.Sprintf("release %v: %v", raw.ACK.YourIPAddr, err))
		} else {
			c.onEvent("dhcp", fmt.Sprintf("released %v", raw.ACK.YourIPAddr))
		}
	}()
	backoff := time.Second
	for ctx.Err() == nil {
		// INIT, or INIT-REBOOT after the link came back.
		if raw == nil || reboot {
			var want net.IP
			if raw != nil {
				want = raw.ACK.YourIPAddr
			}
			l, err := c.request(ctx, want)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if reboot && time.Now().Before(leaseFrom(raw).Expiry) {
					// Keep the old lease; renew it at T1 as usual.
					reboot = false
					c.onEvent("dhcp", fmt.Sprintf("could not confirm lease: %v", err))
					continue
				}
				reboot = false
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
		for raw != nil {
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
			l, err := c.renew(rctx, raw)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				raw = l
				c.onLease(leaseFrom(raw))
				break
			}
			if nak := (*nclient4.ErrNak)(nil); errors.As(err, &nak) {
				c.onEvent("dhcp", fmt.Sprintf("server refused renewal of %s", lease.Address))
				raw = nil
				c.onLease(nil)
				break
			}
			// RFC 2131 4.4.5: wait half the time left, at least a minute
			// (less for leases shorter than that, as in tests).
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

// release gives the lease back (RFC 2131 4.4.6). It is sent from the leased
// address to the server, as a DHCPRELEASE must be unicast; the kernel drops
// the raw-socket kind nclient4 sends (source 0.0.0.0 to a unicast address
// is a martian). When the address is already gone, or goes before the
// unicast leaves, it is broadcast.
func (c *dhcpClient) release(l *nclient4.Lease) error {
	msg, err := dhcpv4.NewReleaseFromACK(l.ACK)
	if err != nil {
		return err
	}
	server := l.ACK.ServerIdentifier()
	if server == nil {
		server = l.Offer.ServerIdentifier()
	}
	return c.inNs(func() error {
		conn, err := net.DialUDP("udp4",
			&net.UDPAddr{IP: l.ACK.YourIPAddr, Port: nclient4.ClientPort},
			&net.UDPAddr{IP: server, Port: nclient4.ServerPort})
		if err == nil {
			defer conn.Close()
			if _, err = conn.Write(msg.ToBytes()); err == nil {
				return nil
			}
			// The address or its route went while the release was on
			// its way out (a switch to static): broadcast it instead.
		}
		pc, err := nclient4.NewRawUDPConn(c.ifname, nclient4.ClientPort)
		if err != nil {
			return err
		}
		defer pc.Close()
		_, err = pc.WriteTo(msg.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: nclient4.ServerPort})
		return err
	})
}
