package netconf

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/nclient6"
	"github.com/insomniacslk/dhcp/iana"
)

// Lease6 is the address a DHCPv6 server granted (IA_NA).
type Lease6 struct {
	// Address is the granted address as a /128: the on-link prefix comes
	// from router advertisements, not from DHCPv6.
	Address netip.Prefix
	DNS     []netip.Addr
	Search  []string
	// Obtained is when the server replied; Renew is T1 (when the client
	// asks again) and Expiry the address's valid lifetime.
	Obtained, Renew, Expiry time.Time
}

// lease6From reads a server's Reply. It fails when the reply carries no
// address or a status other than success.
func lease6From(reply *dhcpv6.Message, now time.Time) (*Lease6, error) {
	if st := reply.Options.Status(); st != nil && st.StatusCode != iana.StatusSuccess {
		return nil, fmt.Errorf("server says %s: %s", st.StatusCode, st.StatusMessage)
	}
	ia := reply.Options.OneIANA()
	if ia == nil {
		return nil, fmt.Errorf("reply has no IA_NA")
	}
	if st := ia.Options.Status(); st != nil && st.StatusCode != iana.StatusSuccess {
		return nil, fmt.Errorf("server says %s: %s", st.StatusCode, st.StatusMessage)
	}
	ad := ia.Options.OneAddress()
	if ad == nil {
		return nil, fmt.Errorf("reply has no address")
	}
	a, ok := netip.AddrFromSlice(ad.IPv6Addr)
	if !ok || !a.Is6() || a.Is4In6() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() {
		return nil, fmt.Errorf("reply's address %v is not a usable IPv6 address", ad.IPv6Addr)
	}
	valid := ad.ValidLifetime
	if valid <= 0 || valid > 365*24*time.Hour {
		valid = 365 * 24 * time.Hour // 0xffffffff is "infinite"
	}
	t1 := ia.T1
	if t1 <= 0 || t1 >= valid {
		t1 = ad.PreferredLifetime / 2 // RFC 8415 21.4: the client's choice
	}
	if t1 <= 0 || t1 >= valid {
		t1 = valid / 2
	}
	l := &Lease6{Address: netip.PrefixFrom(a, 128), Obtained: now, Renew: now.Add(t1), Expiry: now.Add(valid)}
	for _, d := range reply.Options.DNS() {
		if a, ok := netip.AddrFromSlice(d); ok {
			l.DNS = append(l.DNS, a)
		}
	}
	if ds := reply.Options.DomainSearchList(); ds != nil {
		l.Search = ds.Labels
	}
	return l, nil
}

// dhcp6Client keeps a DHCPv6 address on one interface: SOLICIT (with rapid
// commit, or ADVERTISE then REQUEST) until a server answers, then again at
// T1 to extend it. It identifies itself with a DUID-LL, which stays the
// same across exchanges and reboots, so a server hands it the same address
// again; the address is given back (RELEASE is optional in practice) by
// letting it expire when the client stops.
type dhcp6Client struct {
	ifname  string
	mac     net.HardwareAddr
	inNs    func(func() error) error
	timeout time.Duration
	retries int
	onLease func(*Lease6)
	onEvent func(kind, msg string)
	done    chan struct{}
	cancel  context.CancelFunc
}

func (c *dhcp6Client) start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		c.run(ctx)
	}()
}

func (c *dhcp6Client) stop() { c.cancel() }

// exchange runs one SOLICIT..REPLY on a fresh socket: it needs the
// interface's link-local address, which is there only once duplicate
// address detection is through.
func (c *dhcp6Client) exchange(ctx context.Context) (*Lease6, error) {
	var conn *nclient6.Client
	err := c.inNs(func() error {
		var err error
		conn, err = nclient6.New(c.ifname, nclient6.WithTimeout(c.timeout), nclient6.WithRetry(c.retries))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open DHCPv6 socket: %w", err)
	}
	defer conn.Close()
	duid := &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: c.mac}
	reply, err := conn.RapidSolicit(ctx, dhcpv6.WithClientID(duid))
	if err != nil {
		return nil, err
	}
	return lease6From(reply, time.Now())
}

func (c *dhcp6Client) run(ctx context.Context) {
	var held *Lease6
	backoff := time.Second
	for ctx.Err() == nil {
		l, err := c.exchange(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if held != nil && !time.Now().Before(held.Expiry) {
				c.onEvent("dhcpv6", fmt.Sprintf("address %s expired", held.Address.Addr()))
				held = nil
				c.onLease(nil)
			}
			c.onEvent("dhcpv6", fmt.Sprintf("no address: %v", err))
			wait := backoff
			if held != nil {
				wait = min(backoff, time.Until(held.Expiry))
			}
			if !sleep(ctx, wait) {
				return
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		held = l
		c.onLease(l)
		if !sleep(ctx, time.Until(l.Renew)) {
			return
		}
	}
}

// sleep waits for d or until ctx ends; it reports whether ctx is still on.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
