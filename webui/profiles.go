package webui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/tunneler/tunneler/appliance/config"
)

// The profile form: the IPsec settings several sites' remotes share
// (proposals with presets, lifetimes, DPD, MOBIKE, re-authentication,
// identities, the key with "generate"), the same fields as a tunnel's.

// profileFields are the profile form's fields.
var profileFields = fieldSet(append([]string{"name"}, ikeFields...)...)

// profileEditData is the profile form's data; it has the fields the
// shared key and preset templates read.
type profileEditData struct {
	New          bool     `json:"new"`
	Name         string   `json:"name,omitempty"`
	Presets      []string `json:"presets"`
	HasPSK       bool     `json:"has_psk"`
	GeneratedPSK string   `json:"generated_psk,omitempty"`
}

func findProfile(c config.Config, name string) int {
	return slices.IndexFunc(c.Profiles, func(p config.Profile) bool { return p.Name == name })
}

func (s *Server) profileEdit(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	name := r.PathValue("name")
	p := s.base(sess, "New profile", "tunnels")
	d := profileEditData{New: name == "", Name: name, Presets: config.PresetNames()}
	p.Form = url.Values{}
	if name != "" {
		i := findProfile(c, name)
		if i < 0 {
			s.fail(w, r, http.StatusNotFound, fmt.Sprintf("there is no profile %q", name))
			return
		}
		p.Title = "Edit profile " + name
		ikeToForm(p.Form, c.Profiles[i].IKESettings)
		p.Form.Set("name", name)
		d.HasPSK = !c.Profiles[i].PSK.IsZero()
	}
	p.Data = d
	s.render(w, r, "profileedit", p)
}

// profileSave creates or modifies a profile. An empty PSK on an edit
// keeps the stored key; every remote using the profile is reloaded by
// charon, the other sites and tunnels are not touched.
func (s *Server) profileSave(w http.ResponseWriter, r *http.Request, sess *session) {
	c, _, _ := s.box.Config()
	name := r.PathValue("name")
	i := len(c.Profiles)
	d := profileEditData{New: name == "", Name: name, Presets: config.PresetNames()}
	if name != "" {
		if i = findProfile(c, name); i < 0 {
			s.fail(w, r, http.StatusNotFound, fmt.Sprintf("there is no profile %q", name))
			return
		}
		d.HasPSK = !c.Profiles[i].PSK.IsZero()
	}
	p := s.base(sess, "Profile", "tunnels")
	p.Form = r.PostForm
	p.Data = d
	if r.PostFormValue("action") == "generate" {
		d.GeneratedPSK = config.GeneratePSK().Reveal()
		p.Data = d
		s.render(w, r, "profileedit", p)
		return
	}
	ike, keep := decodeIKEForm(r.PostForm)
	pr := config.Profile{Name: field(r.PostForm, "name"), IKESettings: ike}
	if keep && !d.New {
		pr.PSK = c.Profiles[i].PSK
		if pr.Name != name {
			pr.PSK = config.Secret{}
			p.addErr("psk", "type the key again when renaming a profile (the stored key belongs to the old name)")
		}
	}
	if d.New {
		c.Profiles = append(c.Profiles, pr)
	} else {
		c.Profiles[i] = pr
	}
	if p.hasErrors() {
		s.render(w, r, "profileedit", p)
		return
	}
	pre := map[string]string{fmt.Sprintf("profiles[%d]", i): ""}
	if !s.save(w, r, p, c, pre, profileFields, "profileedit") {
		return
	}
	s.logf("webui: profile %s saved from %s", pr.Name, sourceKey(r))
	done(w, r, "/apply", nil)
}
