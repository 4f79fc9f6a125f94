package webui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tunneler/tunneler/appliance/config"
)

// sitesDoc is the part of the config the Sites editor shows and takes:
// the IPsec profiles and the sites that use them. Keys show as
// config.Hidden; sending the placeholder back keeps the stored key.
type sitesDoc struct {
	Profiles []config.Profile `json:"profiles"`
	Sites    []config.Site    `json:"sites"`
}

func sitesOf(c config.Config) sitesDoc {
	d := sitesDoc{Profiles: c.Profiles, Sites: c.Sites}
	if d.Profiles == nil {
		d.Profiles = []config.Profile{}
	}
	if d.Sites == nil {
		d.Sites = []config.Site{}
	}
	return d
}

// sitesExample is what an empty editor offers: one site, two remotes of
// one profile, a ping monitor.
const sitesExample = `{
  "profiles": [
    {"name": "hq-devices", "psk": "a long random key shared by both devices"}
  ],
  "sites": [
    {
      "name": "hq",
      "remote_networks": ["10.9.0.0/24"],
      "remotes": [
        {"peer_address": "192.0.2.2", "profile": "hq-devices"},
        {"peer_address": "192.0.2.3", "profile": "hq-devices"}
      ],
      "hold_down": "30s",
      "monitor": {"type": "icmp", "target": "10.9.0.1", "interval": "1s"}
    }
  ]
}`

func (s *Server) sitesPage(sess *session, doc string) *page {
	p := s.base(sess, "Sites and profiles (JSON)", "tunnels")
	p.Form = url.Values{"sites_json": {doc}}
	p.Data = map[string]any{"Example": sitesExample}
	return p
}

// siteRow is one site on the Sites page: its settings and, once it
// runs, its status.
type siteRow struct {
	config.Site
	Status *SiteStatus `json:"status,omitempty"`
}

// sitesData is a page of the sites, searched by name, peer or network
// and filtered by colour (gray: down, green: up).
type sitesData struct {
	Sites []siteRow `json:"sites"`
	List  listPage  `json:"list"`
	// Profiles are the profiles' names, each with the number of remotes
	// that use it.
	Profiles []profileUse `json:"profiles"`
}

type profileUse struct {
	Name    string `json:"name"`
	Remotes int    `json:"remotes"`
}

func (s *Server) sitesList(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "Sites", "tunnels")
	c, _, _ := s.box.Config()
	status := map[string]*SiteStatus{}
	st := s.box.Status()
	for i := range st.Sites {
		status[st.Sites[i].Name] = &st.Sites[i]
	}
	q := decodeListQuery(r.URL.Query())
	find := newSearch(q.Q)
	sites, lp := paginate(c.Sites, q, "/sites", func(site config.Site) bool {
		if q.Colour != "" && siteColour(status[site.Name]) != q.Colour {
			return false
		}
		nets := config.PrefixStrings(site.RemoteNetworks)
		if find.matches(site.Name, "", nets) {
			return true
		}
		for _, rm := range site.Remotes {
			if find.matches("", rm.PeerAddress, nil) {
				return true
			}
		}
		return false
	})
	d := sitesData{Sites: make([]siteRow, 0, len(sites)), List: lp, Profiles: []profileUse{}}
	uses := map[string]int{}
	for _, site := range c.Sites {
		for _, rm := range site.Remotes {
			uses[rm.Profile]++
		}
	}
	for _, pr := range c.Profiles {
		d.Profiles = append(d.Profiles, profileUse{pr.Name, uses[pr.Name]})
	}
	for _, site := range sites {
		d.Sites = append(d.Sites, siteRow{Site: site, Status: status[site.Name]})
	}
	p.Data = d
	s.render(w, r, "siteslist", p)
}

// siteColour is a site's colour: green while a remote is healthy, gray
// when none is or it does not run yet.
func siteColour(st *SiteStatus) string {
	if st == nil || st.Down {
		return Gray
	}
	return Green
}

// sitesEdit shows the sites and profiles as JSON (keys hidden), the
// advanced view of the Sites page; the JSON API answers the document.
func (s *Server) sitesEdit(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	d := sitesOf(c)
	if wantJSON(r) {
		writeJSON(w, http.StatusOK, d)
		return
	}
	s.render(w, r, "sites", s.sitesPage(sess, sitesText(d)))
}

// sitesText is the editor's text: keys come out as the hidden
// placeholder (config.Secret's text form), so no key reaches the page.
func sitesText(d sitesDoc) string {
	if len(d.Sites) == 0 && len(d.Profiles) == 0 {
		return ""
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	return string(b)
}

// sitesSave replaces the config's profiles and sites with the posted
// document (form field sites_json), validated with the rest of the config.
func (s *Server) sitesSave(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	var d sitesDoc
	dec := json.NewDecoder(bytes.NewReader([]byte(r.PostFormValue("sites_json"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		// The text may hold a new key: the page shows the stored
		// document again, never what was typed.
		p := s.sitesPage(sess, sitesText(sitesOf(c)))
		p.addErr("sites_json", fmt.Sprintf("not a sites document (nothing saved): %v", err))
		s.render(w, r, "sites", p)
		return
	}
	p := s.sitesPage(sess, sitesText(d))
	c.Profiles, c.Sites = d.Profiles, d.Sites
	if !s.save(w, r, p, c, nil, nil, "sites") {
		return
	}
	s.logf("webui: sites saved from %s (%d sites, %d profiles)", sourceKey(r), len(d.Sites), len(d.Profiles))
	done(w, r, "/apply", nil)
}
