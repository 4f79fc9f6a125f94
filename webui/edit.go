package webui

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/tunneler/tunneler/appliance/config"
)

// What the edit pages of the named lists (tunnels, profiles, sites) and
// the import share: finding the item a form edits, putting the edited
// item back, and, for the items with a pre-shared key, the key's field.

func findTunnel(c config.Config, name string) int {
	return slices.IndexFunc(c.Tunnels, func(t config.Tunnel) bool { return t.Name == name })
}

func findProfile(c config.Config, name string) int {
	return slices.IndexFunc(c.Profiles, func(p config.Profile) bool { return p.Name == name })
}

func findSite(c config.Config, name string) int {
	return slices.IndexFunc(c.Sites, func(s config.Site) bool { return s.Name == name })
}

// editList is a list of named items that has an edit page: tunnels,
// profiles or sites.
type editList struct {
	kind string // in messages: "there is no tunnel "x""
	base string // the pages' path: base/new, base/{path}/edit
	path string // the path value that names the item
	find func(c config.Config, name string) int
	len  func(c config.Config) int
}

var (
	tunnelList  = editList{"tunnel", "/tunnels", "name", findTunnel, func(c config.Config) int { return len(c.Tunnels) }}
	profileList = editList{"profile", "/profiles", "name", findProfile, func(c config.Config) int { return len(c.Profiles) }}
	siteList    = editList{"site", "/sites", "site", findSite, func(c config.Config) int { return len(c.Sites) }}
)

// editItem is the item an edit page's request names.
type editItem struct {
	c    config.Config // the config it stands in
	name string        // "" for a new item
	i    int           // its index in its list, or the list's length for a new one
}

// editHandler serves an edit page of the item it names.
type editHandler func(w http.ResponseWriter, r *http.Request, sess *session, it editItem)

// editing finds the item of l that the request's path names before h
// runs; a name that is not in the list is answered 404.
func (s *Server) editing(l editList, h editHandler) handler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		c, _, _ := s.box.Config()
		it := editItem{c: c, name: r.PathValue(l.path)}
		if it.name == "" {
			it.i = l.len(c)
		} else if it.i = l.find(c, it.name); it.i < 0 {
			s.fail(w, r, http.StatusNotFound, fmt.Sprintf("there is no %s %q", l.kind, it.name))
			return
		}
		h(w, r, sess, it)
	}
}

// at is list[i], or the zero item for a new one (i past the end).
func at[T any](list []T, i int) T {
	if i < 0 || i >= len(list) {
		var zero T
		return zero
	}
	return list[i]
}

// put stores v at i in list, or appends it when i is not an index of the
// list (a new item); it returns the list and where v stands.
func put[T any](list []T, i int, v T) ([]T, int) {
	if i < 0 || i >= len(list) {
		return append(list, v), len(list)
	}
	list[i] = v
	return list, i
}

// keyEditData is the data of the forms with a pre-shared key (tunnel,
// profile): the fields the shared key and preset templates read.
type keyEditData struct {
	New          bool     `json:"new"`
	Name         string   `json:"name,omitempty"`
	Presets      []string `json:"presets"`
	HasPSK       bool     `json:"has_psk"`
	GeneratedPSK string   `json:"generated_psk,omitempty"`
}

// newKeyEditData is the key form's data for the item named name (""
// for a new one) whose stored key is stored.
func newKeyEditData(name string, stored config.Secret) keyEditData {
	return keyEditData{New: name == "", Name: name, Presets: config.PresetNames(), HasPSK: !stored.IsZero()}
}

// generatedPSKPage answers the form's "generate" button: the page again with
// a fresh key in the key's field. It reports whether r pressed it.
func (s *Server) generatedPSKPage(w http.ResponseWriter, r *http.Request, p *page, d keyEditData, tmpl string) bool {
	if r.PostFormValue("action") != "generate" {
		return false
	}
	d.GeneratedPSK = config.GeneratePSK().Reveal()
	p.Data = d
	s.render(w, r, tmpl, p)
	return true
}

// keptPSK is the stored key an edit keeps when its key field was left
// empty. Renaming must keep the key too, but Save's KeepSecrets matches
// by name, so the key is looked up under the old name here; a rename with
// an empty key field is an error on the field instead.
func keptPSK(p *page, kind string, stored config.Secret, oldName, newName string) config.Secret {
	if newName != oldName {
		p.addErr("psk", "type the key again when renaming a "+kind+" (the stored key belongs to the old name)")
		return config.Secret{}
	}
	return stored
}
