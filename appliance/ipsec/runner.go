package ipsec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/tunneler/tunneler/appliance/atomicfile"
	"github.com/tunneler/tunneler/appliance/supervise"
)

// RunnerOptions say how to run charon on the box. Zero values are the
// box's paths.
type RunnerOptions struct {
	Conf       ConfOptions
	ConfPath   string // default ConfPath
	CharonPath string // default CharonPath
	PidFile    string // default PidFile; removed before each start
	Client     Options
	// Env is added to charon's environment (STRONGSWAN_CONF is set here).
	Env []string
	// BeforeStart runs before each start of charon, after its files are
	// prepared. The box removes there the SAs a killed charon left in the
	// kernel: the new charon knows nothing of them (no rekey, no delete,
	// no counters), and until it negotiates new ones the box's policies
	// drop the traffic, as they do at boot.
	BeforeStart func(ctx context.Context) error
}

// Runner is charon under the supervisor plus the VICI client that keeps it
// loaded. The supervisor restarts charon when it dies; the client notices
// (its event stream ends), dials the new one and reloads every tunnel.
type Runner struct {
	Unit   *supervise.Unit
	Client *Client
}

// NewRunner adds charon to sup (not started: sup.StartAll or
// r.Unit.Start does that) and returns it with its client. Run the client
// with go r.Client.Run(ctx).
func NewRunner(sup *supervise.Supervisor, o RunnerOptions) (*Runner, error) {
	if o.ConfPath == "" {
		o.ConfPath = ConfPath
	}
	if o.CharonPath == "" {
		o.CharonPath = CharonPath
	}
	if o.PidFile == "" {
		o.PidFile = PidFile
	}
	if o.Conf.Socket == "" {
		o.Conf.Socket = SocketPath
	}
	o.Client.Socket = o.Conf.Socket
	conf := RenderConf(o.Conf)
	env := append(os.Environ(), o.Env...)
	env = append(env, "STRONGSWAN_CONF="+o.ConfPath)
	unit, err := sup.Add(supervise.Service{
		Name: "charon",
		Path: o.CharonPath,
		Env:  env,
		Prepare: func(ctx context.Context) error {
			if err := prepare(o.ConfPath, conf, o.PidFile, o.Conf.Socket); err != nil {
				return err
			}
			if o.BeforeStart != nil {
				return o.BeforeStart(ctx)
			}
			return nil
		},
		Probe: func(ctx context.Context) error {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "unix", o.Conf.Socket)
			if err != nil {
				return fmt.Errorf("vici socket: %w", err)
			}
			return conn.Close()
		},
		ProbeInterval:          5 * time.Second,
		ProbeFailuresToRestart: 3,
		StopGrace:              5 * time.Second,
		// charon starts in well under a second; come back fast after a
		// crash so the tunnel is up again within seconds.
		BackoffMin: 100 * time.Millisecond,
		BackoffMax: 10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("add charon: %w", err)
	}
	return &Runner{Unit: unit, Client: NewClient(o.Client)}, nil
}

// prepare writes strongswan.conf and clears what a killed charon leaves
// behind: its pid file (charon refuses to start if the pid in it is alive,
// and after a reboot-less restart that pid may belong to someone else) and
// its socket.
func prepare(confPath string, conf []byte, pidFile, socket string) error {
	if err := os.MkdirAll(filepath.Dir(confPath), 0o755); err != nil {
		return fmt.Errorf("strongswan.conf dir: %w", err)
	}
	if err := atomicfile.Write(confPath, conf, 0o644); err != nil {
		return fmt.Errorf("write strongswan.conf: %w", err)
	}
	for _, p := range []string{pidFile, socket} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	return nil
}
