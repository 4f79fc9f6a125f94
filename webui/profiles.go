package webui

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/tunneler/tunneler/appliance/config"
)

// The profile form: the IPsec settings several sites' remotes share
// (proposals with presets, lifetimes, DPD, MOBIKE, re-authentication,
// identities, the key with "generate"), the same fields as a tunnel's.

// profileFields are the profile form's fields.
var profileFields = fieldSet(append([]string{"name"}, ikeFields...)...)

func (s *Server) profileEdit(w http.ResponseWriter, r *http.Request, sess *session, it editItem) {
	c, name, i := it.c, it.name, it.i
	p := s.base(sess, "New profile", "tunnels")
	p.Form = url.Values{}
	if name != "" {
		p.Title = "Edit profile " + name
		ikeToForm(p.Form, c.Profiles[i].IKESettings)
		p.Form.Set("name", name)
	}
	p.Data = newKeyEditData(name, at(c.Profiles, i).PSK)
	s.render(w, r, "profileedit", p)
}

// profileSave creates or modifies a profile. An empty PSK on an edit
// keeps the stored key; every remote using the profile is reloaded by
// charon, the other sites and tunnels are not touched.
func (s *Server) profileSave(w http.ResponseWriter, r *http.Request, sess *session, it editItem) {
	c, name, i := it.c, it.name, it.i
	d := newKeyEditData(name, at(c.Profiles, i).PSK)
	p := s.base(sess, "Profile", "tunnels")
	p.Form = r.PostForm
	p.Data = d
	if s.generatedPSKPage(w, r, p, d, "profileedit") {
		return
	}
	ike, keep := decodeIKEForm(r.PostForm)
	pr := config.Profile{Name: field(r.PostForm, "name"), IKESettings: ike}
	if keep && !d.New {
		pr.PSK = keptPSK(p, "profile", c.Profiles[i].PSK, name, pr.Name)
	}
	c.Profiles, i = put(c.Profiles, i, pr)
	pre := map[string]string{fmt.Sprintf("profiles[%d]", i): ""}
	if !s.save(w, r, p, c, pre, profileFields, "profileedit") {
		return
	}
	s.logf("webui: profile %s saved from %s", pr.Name, sourceKey(r))
	done(w, r, "/apply", nil)
}
