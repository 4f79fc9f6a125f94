package webui

import (
	"fmt"
	"net/http"
	"strconv"
)

// remoteTunnel is config.RemoteTunnelName, from the URL's parts.
func remoteTunnel(site string, n int) string { return fmt.Sprintf("%s-r%d", site, n) }

// findRemote finds remote n (1-based) of a site in the status.
func findRemote(st Status, site string, n int) (RemoteStatus, bool) {
	for _, s := range st.Sites {
		if s.Name != site {
			continue
		}
		for _, r := range s.Remotes {
			if r.Index == n {
				return r, true
			}
		}
	}
	return RemoteStatus{}, false
}

func restartRemoteData(site string, n int, r RemoteStatus) confirmData {
	w := fmt.Sprintf("Restarting remote %d (%s) of site %s tears down its IKE and CHILD SAs and negotiates them again.", n, r.PeerAddress, site)
	if r.Active {
		w += " It carries the site's traffic now: that traffic stops until the tunnel is back or the site fails over to another remote."
	} else {
		w += " It is a standby: the site's traffic is not interrupted, but it cannot fail over to this remote until the tunnel is back."
	}
	return confirmData{Action: "restart", Target: remoteTunnel(site, n), Warning: w,
		Post: fmt.Sprintf("/sites/%s/remotes/%d/restart", site, n), Button: "Restart remote"}
}

// remoteParams reads the site and the 1-based remote number of the URL.
func (s *Server) remoteParams(w http.ResponseWriter, r *http.Request) (string, int, RemoteStatus, bool) {
	site := r.PathValue("site")
	n, err := strconv.Atoi(r.PathValue("n"))
	rs, ok := findRemote(s.box.Status(), site, n)
	if err != nil || !ok {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("site %q has no remote %q running", site, r.PathValue("n")))
		return "", 0, rs, false
	}
	return site, n, rs, true
}

// restartRemoteConfirm asks before restarting a remote: it may interrupt
// the site's traffic.
func (s *Server) restartRemoteConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	site, n, rs, ok := s.remoteParams(w, r)
	if !ok {
		return
	}
	p := s.base(sess, fmt.Sprintf("Restart remote %d of %s", n, site), "overview")
	p.Data = restartRemoteData(site, n, rs)
	s.render(w, r, "confirm", p)
}

func (s *Server) restartRemote(w http.ResponseWriter, r *http.Request, sess *session) {
	site, n, rs, ok := s.remoteParams(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		p := s.base(sess, fmt.Sprintf("Restart remote %d of %s", n, site), "overview")
		p.Data = restartRemoteData(site, n, rs)
		p.addErr("confirm", "tick the box to confirm that traffic may be interrupted")
		s.render(w, r, "confirm", p)
		return
	}
	if err := s.box.Do(r.Context(), Action{Kind: ActRestartRemote, Tunnel: remoteTunnel(site, n)}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "restart failed: "+err.Error())
		return
	}
	s.logf("webui: restart of remote %d of site %s requested from %s", n, site, sourceKey(r))
	done(w, r, "/overview", nil)
}
