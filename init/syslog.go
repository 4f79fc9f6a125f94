package main

import (
	"context"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/remotelog"
)

// Remote syslog (config.System.RemoteSyslog): init's own log, charon's
// and the router's lines go to a remote server as well as the console and
// the web UI (appliance/remotelog). Logging never waits for it.

// startLogForwarding forwards the supervised services' lines for ever.
func (b *pid1) startLogForwarding() {
	b.logFwd = &remotelog.ServiceForwarder{Sink: b.syslog, Redactor: &b.redactor, Log: b.log,
		Units: func() []remotelog.ServiceLog {
			if b.sup == nil {
				return nil
			}
			var out []remotelog.ServiceLog
			for _, u := range b.sup.Units() {
				out = append(out, u)
			}
			return out
		}}
	b.configureSyslog(b.cfg)
	go b.logFwd.Run(context.Background())
}

// configureSyslog points forwarding at c's target (or turns it off), with
// c's secrets to cut out of every line. Boot calls it with the loaded
// config, applyChange with each saved one.
func (b *pid1) configureSyslog(c config.Config) {
	c = c.WithDefaults()
	b.logFwd.Configure(c.System.RemoteSyslog, c.System.Hostname, c.SecretValues())
}
