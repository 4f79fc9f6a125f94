package config

import (
	"path"
)

// validateRouter reports whether the inside address is usable, so tunnels
// are not blamed for a wrong inside address.
func validateRouter(p *problems, r Router, box []boxNet) bool {
	if r.IdentityPath != "" && (!path.IsAbs(r.IdentityPath) || path.Clean(r.IdentityPath) != r.IdentityPath) {
		p.add("router.identity_path", "%q must be a clean absolute path like %s", r.IdentityPath, DefaultIdentityPath)
	}
	rng, ok := checkInsideNetwork(p, "router.intercept_range", r.InterceptRange)
	if ok {
		if b, hit := overlapsBox(rng, box); hit {
			p.add("router.intercept_range", "%s overlaps %s", rng, b.desc)
		}
	}
	switch {
	case !r.InsideAddress.IsValid():
		p.add("router.inside_address", "%q is not an IP address", r.InsideAddress.String())
	case ok && !rng.Contains(r.InsideAddress.Addr):
		p.add("router.inside_address", "%s is outside the intercept range %s", r.InsideAddress, rng)
	case unicastProblem(r.InsideAddress.Addr) != "":
		p.add("router.inside_address", "%s %s", r.InsideAddress, unicastProblem(r.InsideAddress.Addr))
	default:
		return true
	}
	return false
}
