package webui

import (
	"fmt"
	"net/http"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// probeData is the "Find what the remote device accepts" page's data.
type probeData struct {
	Tunnel string               `json:"tunnel"`
	Probe  *control.ProbeStatus `json:"probe,omitempty"`
}

// probePage shows the latest probe of a tunnel, refreshing while it runs.
func (s *Server) probePage(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("name")
	if !s.tunnelKnown(name) {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("there is no tunnel %q", name))
		return
	}
	d := probeData{Tunnel: name}
	if p, ok := s.box.Probe(name); ok {
		d.Probe = &p
	}
	p := s.base(sess, "Find what "+name+"'s remote device accepts", "ipsec")
	p.Data = d
	s.render(w, r, "probe", p)
}

func (s *Server) probeStart(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("name")
	if !s.tunnelKnown(name) {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("there is no tunnel %q", name))
		return
	}
	if err := s.box.StartProbe(name); err != nil {
		s.fail(w, r, http.StatusConflict, "cannot start the probe: "+err.Error())
		return
	}
	s.logf("webui: probe of %s's remote device started from %s", name, sourceKey(r))
	done(w, r, "/tunnels/"+name+"/probe", map[string]any{"progress": "/api/tunnels/" + name + "/probe"})
}

// probeApply saves the preset the probe found, as any change is saved.
func (s *Server) probeApply(w http.ResponseWriter, r *http.Request, sess *session) {
	name, preset := r.PathValue("name"), r.PostFormValue("preset")
	if _, ok := config.LookupPreset(preset); !ok || preset == "" {
		s.fail(w, r, http.StatusUnprocessableEntity, fmt.Sprintf("preset: %q is not a known preset", preset))
		return
	}
	base, err := baseGeneration(r)
	if err != nil {
		s.fail(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	errs, err := s.box.ApplyPreset(r.Context(), name, preset, base, source(r))
	if err == nil && len(errs) > 0 {
		err = errs
	}
	if err != nil {
		s.fail(w, r, http.StatusUnprocessableEntity, "apply preset: "+err.Error())
		return
	}
	s.logf("webui: preset %s applied to %s from %s", preset, name, sourceKey(r))
	done(w, r, "/ipsec", map[string]any{"preset": preset})
}

func (s *Server) tunnelKnown(name string) bool {
	for _, t := range s.box.Status().Tunnels {
		if t.Name == name {
			return true
		}
	}
	return false
}
