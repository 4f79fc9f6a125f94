package webui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/remoteconfig"
)

func parseInt(s string) (int, error) { return strconv.Atoi(s) }

// overviewData summarises the box: every tunnel counted by colour, and
// a bounded list of tunnels and sites, those not up first.
type overviewData struct {
	Status              // Tunnels and Sites: at most overviewShown of each
	Counts colourCounts `json:"counts"`
	// SitesTotal and SitesDown count every site.
	SitesTotal int `json:"sites_total"`
	SitesDown  int `json:"sites_down"`
	// MoreTunnels and MoreSites were left out of the lists.
	MoreTunnels int `json:"more_tunnels"`
	MoreSites   int `json:"more_sites"`
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Overview", "overview")
	st := s.box.Status()
	d := overviewData{Status: st, Counts: countColours(st.Tunnels), SitesTotal: len(st.Sites)}
	d.Tunnels = slices.Clone(st.Tunnels)
	slices.SortStableFunc(d.Tunnels, func(a, b TunnelStatus) int { return urgency(a.Colour) - urgency(b.Colour) })
	if len(d.Tunnels) > overviewShown {
		d.MoreTunnels, d.Tunnels = len(d.Tunnels)-overviewShown, d.Tunnels[:overviewShown]
	}
	d.Sites = slices.Clone(st.Sites)
	slices.SortStableFunc(d.Sites, func(a, b SiteStatus) int { return b2i(b.Down) - b2i(a.Down) })
	for _, site := range d.Sites {
		d.SitesDown += b2i(site.Down)
	}
	if len(d.Sites) > overviewShown {
		d.MoreSites, d.Sites = len(d.Sites)-overviewShown, d.Sites[:overviewShown]
	}
	p.Data = d
	s.render(w, r, "overview", p)
}

// ipsecData is a page of charon's view of the tunnels (sites' remotes
// included), searched and filtered by colour.
type ipsecData struct {
	Status              // Tunnels: this page's
	Counts colourCounts `json:"counts"`
	List   listPage     `json:"list"`
}

func (s *Server) ipsec(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "IPsec", "ipsec")
	st := s.box.Status()
	q := decodeListQuery(r.URL.Query())
	find := newSearch(q.Q)
	d := ipsecData{Status: st, Counts: countColours(st.Tunnels)}
	d.Tunnels, d.List = paginate(st.Tunnels, q, "/ipsec", func(t TunnelStatus) bool {
		return (q.Colour == "" || t.Colour == q.Colour) && find.matches(t.Name, t.PeerAddress, t.RemoteNetworks)
	})
	p.Data = d
	s.render(w, r, "ipsec", p)
}

// logsData is the Logs page's data.
type logsData struct {
	Kinds  []string  `json:"kinds"`
	Window string    `json:"window"`
	Lines  []LogLine `json:"lines"`
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request, sess *session) {
	q, win := decodeLogQuery(r.URL.Query(), s.now())
	lines := s.box.Logs(q)
	if lines == nil {
		lines = []LogLine{}
	}
	if wantJSON(r) {
		writeJSON(w, http.StatusOK, logsData{Kinds: q.Kinds, Window: win, Lines: lines})
		return
	}
	p := s.base(sess, "Logs", "logs")
	p.Form = r.URL.Query()
	p.Data = logsData{Kinds: q.Kinds, Window: win, Lines: lines}
	s.render(w, r, "logs", p)
}

// tunnelsData is the Tunnels page's data: a page of the configured
// tunnels (keys hidden), searched and filtered by colour.
type tunnelsData struct {
	Tunnels []config.Tunnel         `json:"tunnels"`
	List    listPage                `json:"list"`
	Sites   int                     `json:"site_count"` // listed on the Sites page
	Status  map[string]TunnelStatus `json:"-"`
	Vendors []remoteconfig.Vendor   `json:"vendors"`
}

func (s *Server) tunnels(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Tunnels", "tunnels")
	c, _, _ := s.box.Config()
	q := decodeListQuery(r.URL.Query())
	d := tunnelsData{Sites: len(c.Sites), Status: map[string]TunnelStatus{}, Vendors: remoteconfig.Vendors()}
	for _, t := range s.box.Status().Tunnels {
		d.Status[t.Name] = t
	}
	find := newSearch(q.Q)
	d.Tunnels, d.List = paginate(c.Tunnels, q, "/tunnels", func(t config.Tunnel) bool {
		return (q.Colour == "" || d.Status[t.Name].Colour == q.Colour) && find.matches(t.Name, t.PeerAddress, config.PrefixStrings(t.RemoteNetworks))
	})
	p.Data = d
	s.render(w, r, "tunnels", p)
}

func (s *Server) tunnelEdit(w http.ResponseWriter, r *http.Request, sess *session, it editItem) {
	c, name, i := it.c, it.name, it.i
	p := s.base(sess, "New tunnel", "tunnels")
	if name != "" {
		p.Title = "Edit tunnel " + name
		p.Form = tunnelToForm(c.Tunnels[i])
	} else {
		p.Form = tunnelToForm(config.Tunnel{Name: fmt.Sprintf("site%d", len(c.Tunnels)+1)})
	}
	p.Data = newKeyEditData(name, at(c.Tunnels, i).PSK)
	s.render(w, r, "tunneledit", p)
}

// tunnelSave creates or modifies a tunnel. An empty PSK on an edit keeps
// the stored key (it is sent to Save as the "(hidden)" placeholder).
func (s *Server) tunnelSave(w http.ResponseWriter, r *http.Request, sess *session, it editItem) {
	c, name, i := it.c, it.name, it.i
	d := newKeyEditData(name, at(c.Tunnels, i).PSK)
	p := s.base(sess, "Tunnel", "tunnels")
	p.Form = r.PostForm
	if s.generatedPSKPage(w, r, p, d, "tunneledit") {
		return
	}
	if r.PostFormValue("confirm") != "yes" && !d.New {
		p.addErr("confirm", "tick the box to confirm: saving restarts this tunnel and interrupts its traffic")
	}
	f := decodeTunnelForm(r.PostForm)
	p.addErrs(f.Bad)
	if f.KeepPSK && !d.New {
		f.Tunnel.PSK = keptPSK(p, "tunnel", c.Tunnels[i].PSK, name, f.Tunnel.Name)
	}
	c.Tunnels, i = put(c.Tunnels, i, f.Tunnel)
	p.Data = d
	pre := map[string]string{fmt.Sprintf("tunnels[%d]", i): ""}
	if !s.save(w, r, p, c, pre, tunnelFields, "tunneledit") {
		return
	}
	done(w, r, "/apply", nil)
}

// save hands c to the Box unless p already has problems (the form's
// own); on those, or on the field errors Save finds, it renders page
// tmpl with them and reports false. Nothing is saved then.
func (s *Server) save(w http.ResponseWriter, r *http.Request, p *page, c config.Config, prefixes map[string]string, fields map[string]bool, tmpl string) bool {
	if p.hasErrors() {
		s.render(w, r, tmpl, p)
		return false
	}
	return s.saveChange(w, r, p, c, tmpl, func(errs config.FieldErrors) { mapErrors(p, errs, prefixes, fields) })
}

// confirmData describes a confirmation page.
type confirmData struct {
	Action  string `json:"action"`
	Target  string `json:"target,omitempty"`
	Warning string `json:"warning"`
	Post    string `json:"post"`
	Button  string `json:"button"`
	// WindowMinutes, when set, asks for a firmware trial's health-gate
	// window (minutes), prefilled with it.
	WindowMinutes int `json:"window_minutes,omitempty"`
}

var tunnelActions = map[string]confirmData{
	"reconnect": {Warning: "Reconnecting tears down this tunnel's IKE and CHILD SAs and negotiates them again. Traffic through this tunnel stops for a few seconds, longer if the remote device does not answer.", Button: "Reconnect"},
	"delete":    {Warning: "Deleting removes this tunnel and its key from the box. All traffic to its remote networks stops at once, and the remote device will keep trying to connect until it is reconfigured.", Button: "Delete tunnel"},
}

func (s *Server) tunnelConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	name, action := r.PathValue("name"), r.PathValue("action")
	c, _, _ := s.box.Config()
	i := findTunnel(c, name)
	if action == "remote" {
		if i < 0 {
			s.fail(w, r, http.StatusNotFound, fmt.Sprintf("there is no tunnel %q", name))
			return
		}
		p := s.base(sess, "Remote device configuration", "tunnels")
		p.Data = map[string]any{"Tunnel": name, "Vendors": remoteconfig.Vendors()}
		s.render(w, r, "remote", p)
		return
	}
	cd, ok := tunnelActions[action]
	if !ok || i < 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no %s for tunnel %q", action, name))
		return
	}
	cd.Action, cd.Target, cd.Post = action, name, "/tunnels/"+name+"/"+action
	p := s.base(sess, cd.Button+" "+name, "tunnels")
	p.Data = cd
	s.render(w, r, "confirm", p)
}

func (s *Server) tunnelAction(w http.ResponseWriter, r *http.Request, sess *session) {
	name, action := r.PathValue("name"), r.PathValue("action")
	c, _, _ := s.box.Config()
	i := findTunnel(c, name)
	cd, ok := tunnelActions[action]
	if !ok || i < 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no %s for tunnel %q", action, name))
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		cd.Action, cd.Target, cd.Post = action, name, "/tunnels/"+name+"/"+action
		p := s.base(sess, cd.Button+" "+name, "tunnels")
		p.Data = cd
		p.addErr("confirm", "tick the box to confirm that traffic may be interrupted")
		s.render(w, r, "confirm", p)
		return
	}
	switch action {
	case "reconnect":
		if err := s.box.Do(r.Context(), Action{Kind: ActReconnect, Tunnel: name}); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "reconnect failed: "+err.Error())
			return
		}
		s.logf("webui: reconnect %s requested from %s", name, sourceKey(r))
		done(w, r, "/ipsec", nil)
	case "delete":
		c.Tunnels = slices.Delete(c.Tunnels, i, i+1)
		p := s.base(sess, "Delete "+name, "tunnels")
		p.Data = cd
		if !s.save(w, r, p, c, nil, nil, "confirm") {
			return
		}
		s.logf("webui: tunnel %s deleted from %s", name, sourceKey(r))
		done(w, r, "/tunnels", nil)
	}
}

func (s *Server) restartCharon(w http.ResponseWriter, r *http.Request, sess *session) {
	if r.PostFormValue("confirm") != "yes" {
		s.fail(w, r, http.StatusUnprocessableEntity, "tick the box to confirm: restarting charon interrupts every tunnel")
		return
	}
	if err := s.box.Do(r.Context(), Action{Kind: ActRestartCharon}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "restart failed: "+err.Error())
		return
	}
	done(w, r, "/ipsec", nil)
}

// settingsData is the Settings page's data.
type settingsData struct {
	System config.System `json:"system"`
	// History lists the saved generations, newest first; HistoryError
	// says why it cannot be read.
	History      []historyEntry `json:"history,omitempty"`
	HistoryError string         `json:"history_error,omitempty"`
	// Notes say how a backup from other hardware maps onto this box's
	// NICs, for the operator to confirm.
	Notes []string `json:"notes,omitempty"`
	// Cert is the web UI's certificate as served (nil before Serve).
	Cert *certInfo `json:"certificate,omitempty"`
}

func (s *Server) settingsPage(sess *session, c config.Config) *page {
	p := s.base(sess, "Settings", "settings")
	p.Form = interfacesForm(c.Interfaces)
	p.Form.Set("hostname", c.System.Hostname)
	p.Form.Set("timezone", c.System.Timezone)
	p.Form.Set("ntp_servers", joinLines(c.System.NTPServers))
	p.Form.Set("remote_syslog", c.System.RemoteSyslog)
	d := settingsData{System: c.System}
	h, err := s.historyOf(p.Gen)
	if err != nil {
		d.HistoryError = err.Error()
	}
	d.History = h
	d.Cert = describeCert(s.cert.Load())
	p.Data = d
	return p
}

func joinLines(l []string) string {
	out := ""
	for i, x := range l {
		if i > 0 {
			out += "\n"
		}
		out += x
	}
	return out
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	p := s.settingsPage(sess, c)
	if r.URL.Query().Get("saved") != "" {
		p.Flash = "Saved."
	}
	if r.URL.Query().Get("cert") == "installed" {
		p.Flash = "Your certificate is installed: the browser will show it from the next connection. Its fingerprint is below and on the console."
	}
	s.render(w, r, "settings", p)
}

func (s *Server) settingsNetwork(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	p := s.settingsPage(sess, c)
	for k, v := range r.PostForm {
		p.Form[k] = v
	}
	if r.PostFormValue("confirm") != "yes" {
		p.addErr("net_confirm", "tick the box to confirm: changing addresses may cut your connection to this page")
		s.render(w, r, "settings", p)
		return
	}
	c.Interfaces = decodeInterfacesForm(r.PostForm, c.Interfaces)
	if !s.save(w, r, p, c, interfacePrefixes(c.Interfaces), interfaceFields, "settings") {
		return
	}
	done(w, r, "/apply", nil)
}

func (s *Server) settingsSystem(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	p := s.settingsPage(sess, c)
	for k, v := range r.PostForm {
		p.Form[k] = v
	}
	c.System = decodeSystemForm(r.PostForm, c.System)
	if !s.save(w, r, p, c, map[string]string{"system": ""}, systemFields, "settings") {
		return
	}
	done(w, r, "/settings?saved=1", nil)
}

func (s *Server) settingsPassword(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	p := s.settingsPage(sess, c)
	if s.limited(w, r) {
		return
	}
	f := decodePasswordForm(r.PostForm)
	p.addErrs(f.problems())
	if !adminVerify(f.Current, s.box.AdminHash()) {
		s.limit.fail(sourceKey(r), s.now())
		p.addErr("current", "is not the current password")
	}
	h, ok := s.hashNewPassword(w, r, p, "settings", f.New)
	if !ok {
		return
	}
	c.Admin.PasswordHash = h
	if !s.save(w, r, p, c, nil, nil, "settings") {
		return
	}
	s.sessions.dropOthers(sess.token)
	s.logf("webui: admin password changed from %s; other sessions ended", sourceKey(r))
	done(w, r, "/settings?saved=1", nil)
}

// hashNewPassword hashes the admin password an operator chose once the
// form has no problems; otherwise, or if hashing fails, it renders page
// tmpl with the problems and reports false.
func (s *Server) hashNewPassword(w http.ResponseWriter, r *http.Request, p *page, tmpl, password string) (config.Secret, bool) {
	if p.hasErrors() {
		s.render(w, r, tmpl, p)
		return config.Secret{}, false
	}
	h, err := s.hash(password)
	if err != nil {
		p.addErr("password", err.Error())
		s.render(w, r, tmpl, p)
		return config.Secret{}, false
	}
	return config.NewSecret(h), true
}

// backup downloads the config document with every secret as "(hidden)",
// the readable "settings (no secrets)" beside the encrypted backup
// (backup.go). Restoring it on this box keeps the stored keys (matched by
// tunnel name); on a new box each PSK must be typed again, which Validate
// asks for next to the field.
func (s *Server) backup(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	host := c.System.Hostname
	if host == "" {
		host = config.DefaultHostname
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", host+"-config-"+s.now().UTC().Format("20060102-1504")+".json"))
	writeJSON(w, http.StatusOK, c)
}

var systemActions = map[string]confirmData{
	"reboot":         {Action: ActReboot, Warning: "Rebooting stops every tunnel and the router for about a minute. This page comes back when the box is up.", Button: "Reboot"},
	"factory-reset":  {Action: ActFactoryReset, Warning: "A factory reset erases the configuration, every pre-shared key, the admin password and the router's identity, then reboots into setup mode. Every tunnel stops and stays down until the box is set up again. Download a backup first.", Button: "Erase everything and reboot"},
	"restart-charon": {Action: ActRestartCharon, Warning: "Restarting charon, the IKE daemon, tears down every tunnel and negotiates them again. All traffic stops for a few seconds.", Button: "Restart charon"},
}

// systemConfirmPage is the confirmation page of the system action the
// path names; ok is false (404 sent) for an unknown one.
func (s *Server) systemConfirmPage(w http.ResponseWriter, r *http.Request, sess *session) (*page, confirmData, bool) {
	cd, ok := systemActions[r.PathValue("action")]
	if !ok {
		http.NotFound(w, r)
		return nil, cd, false
	}
	cd.Post = "/settings/" + r.PathValue("action")
	p := s.base(sess, cd.Button, "settings")
	p.Data = cd
	return p, cd, true
}

func (s *Server) systemConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	if p, _, ok := s.systemConfirmPage(w, r, sess); ok {
		s.render(w, r, "confirm", p)
	}
}

func (s *Server) systemAction(w http.ResponseWriter, r *http.Request, sess *session) {
	p, cd, ok := s.systemConfirmPage(w, r, sess)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		p.addErr("confirm", "tick the box to confirm")
		s.render(w, r, "confirm", p)
		return
	}
	if err := s.box.Do(r.Context(), Action{Kind: cd.Action}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, cd.Button+" failed: "+err.Error())
		return
	}
	s.logf("webui: %s requested from %s", cd.Action, sourceKey(r))
	if wantJSON(r) {
		done(w, r, "", nil)
		return
	}
	p.Flash = cd.Button + ": started. " + map[bool]string{true: "The box is going down now.", false: ""}[cd.Action != ActRestartCharon]
	s.render(w, r, "message", p)
}
