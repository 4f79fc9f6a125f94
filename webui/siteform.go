package webui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tunneler/tunneler/appliance/config"
)

// The site form: a site's networks, hold-down and monitor, and up to
// config.MaxRemotes remotes (rows remote1_ .. remote4_), each with its
// address, profile, local address and own monitor target. Empty rows are
// left out; errors of remote j land on the row it came from.

// siteFields are the site form's fields.
var siteFields = func() map[string]bool {
	names := []string{"name", "remote_networks", "local_networks", "hold_down", "restart_grace", "remotes",
		"monitor_type", "monitor_target", "monitor_source", "monitor_interval", "monitor_timeout", "monitor_retries"}
	for n := 1; n <= config.MaxRemotes; n++ {
		for _, f := range []string{"peer_address", "profile", "local_address", "monitor_target"} {
			names = append(names, remoteField(n, f))
		}
	}
	return fieldSet(names...)
}()

// remoteField is the form field of row n (1-based) of a remote's setting.
func remoteField(n int, name string) string { return fmt.Sprintf("remote%d_%s", n, name) }

// siteForm is a decoded site form: the site, the row each remote came
// from, and fields whose text cannot be kept in the config.
type siteForm struct {
	Site  config.Site
	RowOf []int // RowOf[j] is the 1-based row of Site.Remotes[j]
	Bad   map[string]string
}

func decodeSiteForm(v url.Values) siteForm {
	s := config.Site{
		Name:           field(v, "name"),
		RemoteNetworks: prefixes(v.Get("remote_networks")),
		LocalNetworks:  prefixes(v.Get("local_networks")),
		HoldDown:       duration(field(v, "hold_down")),
		RestartGrace:   duration(field(v, "restart_grace")),
		Monitor: config.Monitor{
			Type:     config.MonitorType(field(v, "monitor_type")),
			Target:   field(v, "monitor_target"),
			Interval: duration(field(v, "monitor_interval")),
			Timeout:  duration(field(v, "monitor_timeout")),
		},
	}
	f := siteForm{}
	if a := field(v, "monitor_source"); a != "" {
		s.Monitor.Source = config.ParseAddr(a)
	}
	if r := field(v, "monitor_retries"); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil {
			f.Bad = map[string]string{"monitor_retries": fmt.Sprintf("%q is not a whole number from 1 to 20", r)}
		}
		s.Monitor.Retries = n
	}
	for n := 1; n <= config.MaxRemotes; n++ {
		r := config.Remote{
			PeerAddress:   field(v, remoteField(n, "peer_address")),
			Profile:       field(v, remoteField(n, "profile")),
			MonitorTarget: field(v, remoteField(n, "monitor_target")),
		}
		if a := field(v, remoteField(n, "local_address")); a != "" {
			r.LocalAddress = config.ParseAddr(a)
		}
		if r == (config.Remote{}) {
			continue // an empty row
		}
		s.Remotes = append(s.Remotes, r)
		f.RowOf = append(f.RowOf, n)
	}
	f.Site = s
	return f
}

// siteToForm fills a site form.
func siteToForm(s config.Site) url.Values {
	v := url.Values{}
	v.Set("name", s.Name)
	v.Set("remote_networks", joinPrefixes(s.RemoteNetworks))
	v.Set("local_networks", joinPrefixes(s.LocalNetworks))
	set := func(name string, d config.Duration) {
		if !d.IsZero() {
			v.Set(name, d.String())
		}
	}
	set("hold_down", s.HoldDown)
	set("restart_grace", s.RestartGrace)
	set("monitor_interval", s.Monitor.Interval)
	set("monitor_timeout", s.Monitor.Timeout)
	v.Set("monitor_type", string(s.Monitor.Type))
	v.Set("monitor_target", s.Monitor.Target)
	if !s.Monitor.Source.IsZero() {
		v.Set("monitor_source", s.Monitor.Source.String())
	}
	if s.Monitor.Retries != 0 {
		v.Set("monitor_retries", strconv.Itoa(s.Monitor.Retries))
	}
	for j, r := range s.Remotes {
		n := j + 1
		v.Set(remoteField(n, "peer_address"), r.PeerAddress)
		v.Set(remoteField(n, "profile"), r.Profile)
		v.Set(remoteField(n, "monitor_target"), r.MonitorTarget)
		if !r.LocalAddress.IsZero() {
			v.Set(remoteField(n, "local_address"), r.LocalAddress.String())
		}
	}
	return v
}

// siteEditData is the site form's data.
type siteEditData struct {
	New      bool     `json:"new"`
	Name     string   `json:"name,omitempty"`
	Profiles []string `json:"profiles"` // to choose from
	Rows     []int    `json:"-"`        // 1 .. MaxRemotes
}

func newSiteEditData(c config.Config, name string) siteEditData {
	d := siteEditData{New: name == "", Name: name, Profiles: []string{}}
	for _, p := range c.Profiles {
		d.Profiles = append(d.Profiles, p.Name)
	}
	for n := 1; n <= config.MaxRemotes; n++ {
		d.Rows = append(d.Rows, n)
	}
	return d
}

func (s *Server) siteEdit(w http.ResponseWriter, r *http.Request, sess *session, it editItem) {
	c, name, i := it.c, it.name, it.i
	p := s.base(sess, "New site", "tunnels")
	p.Data = newSiteEditData(c, name)
	p.Form = url.Values{}
	if name != "" {
		p.Title = "Edit site " + name
		p.Form = siteToForm(c.Sites[i])
	}
	s.render(w, r, "siteedit", p)
}

// siteSave creates or modifies one site; the other sites keep running
// on their active remotes (sites.Manager applies site by site).
func (s *Server) siteSave(w http.ResponseWriter, r *http.Request, sess *session, it editItem) {
	c, name, i := it.c, it.name, it.i
	p := s.base(sess, "Site", "tunnels")
	p.Form = r.PostForm
	p.Data = newSiteEditData(c, name)
	f := decodeSiteForm(r.PostForm)
	p.addErrs(f.Bad)
	c.Sites, i = put(c.Sites, i, f.Site)
	base := fmt.Sprintf("sites[%d]", i)
	pre := map[string]string{base: "", base + ".monitor": "monitor_"}
	for j, n := range f.RowOf {
		pre[fmt.Sprintf("%s.remotes[%d]", base, j)] = fmt.Sprintf("remote%d_", n)
	}
	if !s.save(w, r, p, c, pre, siteFields, "siteedit") {
		return
	}
	s.logf("webui: site %s saved from %s", f.Site.Name, sourceKey(r))
	done(w, r, "/apply", nil)
}
