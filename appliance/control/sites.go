package control

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/failover"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// Sites is what the web UI needs of the running failover (init's
// failover.Group and alarm.Manager).
type Sites interface {
	Status() []failover.Status
	RestartRemote(site string, remote int) error // remote counts from 1
}

// siteStatus puts the failover's view, the config's and charon's together
// for the Overview: per remote its peer, tunnel colour and monitor state.
func siteStatus(c config.Config, fs []failover.Status, live map[string]ipsec.TunnelStatus) []SiteStatus {
	c = c.WithDefaults()
	byName := map[string]failover.Status{}
	for _, s := range fs {
		byName[s.Site] = s
	}
	var out []SiteStatus
	for _, s := range c.Sites {
		st, running := byName[s.Name]
		ws := SiteStatus{Name: s.Name, Active: st.Active + 1, Down: st.Down}
		for _, n := range s.RemoteNetworks {
			ws.RemoteNetworks = append(ws.RemoteNetworks, n.String())
		}
		for i, r := range s.Remotes {
			name := config.RemoteTunnelName(s.Name, i)
			rs := RemoteStatus{Index: i + 1, Tunnel: name, PeerAddress: r.PeerAddress, Colour: Gray,
				MonitorTarget: s.Monitor.Target}
			if r.MonitorTarget != "" {
				rs.MonitorTarget = r.MonitorTarget
			}
			if t, ok := live[name]; ok {
				rs.Colour, rs.Reason = colour(t.Colour), t.Reason
			} else {
				rs.Reason = "charon has not loaded this remote yet"
			}
			if running && i < len(st.Remotes) {
				fr := st.Remotes[i]
				rs.Active, rs.Healthy, rs.Suspect, rs.TunnelUp = fr.Active, fr.Healthy, fr.Suspect, fr.TunnelUp
				rs.Monitor, rs.HealthySince, rs.HoldDown = fr.Monitor, fr.HealthySince, fr.HoldDown
			}
			ws.Remotes = append(ws.Remotes, rs)
		}
		if !running {
			ws.Active, ws.Down = 1, true
		}
		out = append(out, ws)
	}
	return out
}

func colour(c ipsec.Colour) string {
	switch c {
	case ipsec.Green:
		return Green
	case ipsec.Orange:
		return Orange
	}
	return Gray
}

// alarms copies the alarm manager's state into the web UI's types.
func alarms(m *alarm.Manager) ([]Alarm, []AlarmChange) {
	active := []Alarm{}
	if m == nil {
		return active, nil
	}
	for _, a := range m.Active() {
		active = append(active, Alarm{Key: a.Key, Severity: a.Severity.String(), Raised: a.Raised, Reason: a.Reason})
	}
	var hist []AlarmChange
	for _, c := range m.History() {
		hist = append(hist, AlarmChange{Time: c.Time, Kind: string(c.Kind), Key: c.Key, Severity: c.Severity.String(), Reason: c.Reason})
	}
	return active, hist
}

// restartRemote parses a remote's tunnel name ("hq-r2") into the site
// and the 1-based remote number, and restarts it.
func (o *Owner) restartRemote(tunnel string) error {
	if o.d.Sites == nil || o.d.Sites() == nil {
		return errors.New("no site with several remotes is running")
	}
	i := strings.LastIndex(tunnel, "-r")
	if i <= 0 {
		return fmt.Errorf("%q names no remote of a site", tunnel)
	}
	n, err := strconv.Atoi(tunnel[i+2:])
	if err != nil || n < 1 || n > config.MaxRemotes {
		return fmt.Errorf("%q names no remote of a site", tunnel)
	}
	o.d.Logf("web UI: restart remote %d of site %s", n, tunnel[:i])
	return o.d.Sites().RestartRemote(tunnel[:i], n)
}

// sitesAndAlarms fills the Overview's sites and alarms.
func (o *Owner) sitesAndAlarms(st *Status, c config.Config, live map[string]ipsec.TunnelStatus) {
	var fs []failover.Status
	if o.d.Sites != nil {
		if s := o.d.Sites(); s != nil {
			fs = s.Status()
		}
	}
	st.Sites = siteStatus(c, fs, live)
	var m *alarm.Manager
	if o.d.Alarms != nil {
		m = o.d.Alarms()
	}
	st.Alarms, st.AlarmHistory = alarms(m)
}
