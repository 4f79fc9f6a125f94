package netconf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/beevik/ntp"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NTPStatus is the outcome of the last clock check.
type NTPStatus struct {
	Server string
	// Offset is how far the local clock was behind (positive) or ahead of
	// the server before any step.
	Offset  time.Duration
	RTT     time.Duration
	Stepped bool
	At      time.Time
	Err     string
}

// SetClockFunc sets the system clock.
type SetClockFunc func(time.Time) error

// SetSystemClock steps the system clock with settimeofday(2).
func SetSystemClock(t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	return unix.Settimeofday(&tv)
}

// ntpSync asks servers in turn and steps the clock with set when the first
// valid answer says it is off by more than threshold. Smaller offsets are
// only reported: the box has no NTP daemon to slew.
func ntpSync(ctx context.Context, ns *netns.NsHandle, servers []string, timeout, threshold time.Duration, set SetClockFunc) (NTPStatus, error) {
	var errs []error
	for _, srv := range servers {
		if ctx.Err() != nil {
			return NTPStatus{}, ctx.Err()
		}
		resp, err := ntp.QueryWithOptions(srv, ntp.QueryOptions{
			Timeout: timeout,
			Dialer: func(_, remote string) (net.Conn, error) {
				return dialUDPIn(ctx, ns, remote)
			},
		})
		if err == nil {
			err = resp.Validate()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", srv, err))
			continue
		}
		st := NTPStatus{Server: srv, Offset: resp.ClockOffset, RTT: resp.RTT, At: time.Now()}
		if resp.ClockOffset > threshold || resp.ClockOffset < -threshold {
			if err := set(time.Now().Add(resp.ClockOffset)); err != nil {
				st.Err = fmt.Sprintf("step clock: %v", err)
				return st, fmt.Errorf("step clock by %v: %w", resp.ClockOffset, err)
			}
			st.Stepped = true
			st.At = time.Now()
		}
		return st, nil
	}
	if len(errs) == 0 {
		return NTPStatus{}, errors.New("no NTP servers configured")
	}
	return NTPStatus{}, errors.Join(errs...)
}

// dialUDPIn dials remote ("host:port") from network namespace ns (nil: the
// caller's). Name lookups are sent from ns too, so a test namespace never
// reaches the host's resolver.
func dialUDPIn(ctx context.Context, ns *netns.NsHandle, remote string) (net.Conn, error) {
	if ns == nil {
		var d net.Dialer
		return d.DialContext(ctx, "udp", remote)
	}
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			var c net.Conn
			err := inNetns(ns, func() error {
				var d net.Dialer
				var err error
				c, err = d.DialContext(ctx, network, address)
				return err
			})
			return c, err
		},
	}
	host, port, err := net.SplitHostPort(remote)
	if err != nil {
		return nil, err
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var c net.Conn
	err = inNetns(ns, func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, "udp", net.JoinHostPort(ips[0].Unmap().String(), port))
		return err
	})
	return c, err
}
