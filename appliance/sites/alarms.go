package sites

import (
	"context"
	"log/slog"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
)

// newAlarms makes the boot's alarms; every change goes to log (the console
// and init's log ring: the menu's "view logs", the Logs page), and to
// remote syslog as an alarm message (attachAlarmSyslog), not also as a log
// line.
func newAlarms(log *slog.Logger) *alarm.Manager {
	m := alarm.New(alarm.DefaultHistory)
	m.Attach(context.Background(), func(c alarm.Change) {
		switch {
		case c.Kind == alarm.Raised && c.Severity == alarm.Error:
			log.Error("ALARM " + c.Key + " raised: " + c.Reason)
		case c.Kind == alarm.Raised:
			log.Warn("ALARM " + c.Key + " raised: " + c.Reason)
		case c.Kind == alarm.Cleared:
			log.Info("ALARM " + c.Key + " cleared: " + c.Reason)
		default:
			log.Info("alarm note " + c.Key + ": " + c.Reason)
		}
	})
	return m
}

// attachAlarmSyslog sends alarms to the config's remote syslog server,
// following changes of the setting. General log forwarding is init's;
// this only adds the alarms.
func (m *Manager) attachAlarmSyslog(cfg config.Config) {
	to := cfg.System.RemoteSyslog
	m.sites.mu.Lock()
	defer m.sites.mu.Unlock()
	if to == m.sites.syslogTo {
		return
	}
	if m.sites.syslogStop != nil {
		m.sites.syslogStop()
		m.sites.syslogStop = nil
	}
	m.sites.syslogTo = to
	if to == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.sites.syslogStop = cancel
	sl := alarm.NewSyslog(to, cfg.System.Hostname)
	failing := false
	m.alarms.Attach(ctx, func(c alarm.Change) {
		err := sl.Send(c)
		if err != nil && !failing {
			m.o.Log.Warn("alarms: remote syslog", "to", to, "err", err)
		}
		failing = err != nil
	})
	go func() { <-ctx.Done(); sl.Close() }()
}
