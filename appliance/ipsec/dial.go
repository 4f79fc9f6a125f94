package ipsec

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/strongswan/govici/vici"
)

// dialed keeps the connections a VICI session dialled: govici v0.7.0 has
// no deadline of its own, so a wedged charon is cut off by setting
// deadlines on them.
type dialed struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dialed) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, conn)
		d.mu.Unlock()
	}
	return conn, err
}

// list is the connections dialled so far.
func (d *dialed) list() []net.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conns
}

func (d *dialed) setDeadline(t time.Time) {
	for _, conn := range d.list() {
		conn.SetDeadline(t)
	}
}

func (d *dialed) close() {
	for _, conn := range d.list() {
		conn.Close()
	}
}

// openSession opens a VICI session on charon's socket and returns the
// connections it dialled; on an error none is left open.
func openSession(socket string) (*vici.Session, *dialed, error) {
	d := &dialed{}
	s, err := vici.NewSession(vici.WithSocketPath(socket), vici.WithDialContext(d.dial))
	if err != nil {
		d.close()
		return nil, nil, err
	}
	return s, d, nil
}
