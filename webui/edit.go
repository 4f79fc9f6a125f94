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

// editIndex says where the item a form edits stands in a list of n items:
// at found (what find* returned for name), or at n for a new item (no
// name). For a name that is not in the list it answers 404 and reports
// false.
func (s *Server) editIndex(w http.ResponseWriter, r *http.Request, kind, name string, found, n int) (int, bool) {
	if name == "" {
		return n, true
	}
	if found < 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("there is no %s %q", kind, name))
		return 0, false
	}
	return found, true
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
