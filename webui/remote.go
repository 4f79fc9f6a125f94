package webui

import (
	"fmt"
	"net/http"

	"github.com/tunneler/tunneler/appliance/remoteconfig"
)

// PSKPlaceholder stands where the remote device's configuration needs the
// pre-shared key (appliance/remoteconfig writes the configurations).
const PSKPlaceholder = remoteconfig.PSKPlaceholder

func (s *Server) remoteConfig(w http.ResponseWriter, r *http.Request, sess *session) {
	name, vid := r.PathValue("name"), r.PathValue("vendor")
	c, _, _ := s.box.Config()
	i := findTunnel(c.WithDefaults(), name)
	v, ok := remoteconfig.LookupVendor(vid)
	if i < 0 || !ok {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no configuration %q for tunnel %q", vid, name))
		return
	}
	out, err := remoteconfig.Render(c.WithDefaults().Tunnels[i], vid, s.now())
	if err != nil {
		// A tunnel whose proposals this kind of device has none of.
		s.fail(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+"-"+v.File))
	w.Write([]byte(out))
}
