package ziti

import (
	"path/filepath"

	"github.com/tunneler/tunneler/appliance/config"
)

// Paths says where the router's files live. Everything secret sits in
// Dir, which enrollment replaces whole and un-enrollment removes.
type Paths struct {
	Config string // the rendered router config (config.Router.IdentityPath)
	Dir    string // the identity directory beside it
}

// PathsFor derives the layout from the configured IdentityPath
// (config.DefaultIdentityPath, /perm/ziti/router.yml, when empty).
func PathsFor(r config.Router) Paths {
	cfg := r.IdentityPath
	if cfg == "" {
		cfg = config.DefaultIdentityPath
	}
	return Paths{Config: cfg, Dir: filepath.Join(filepath.Dir(cfg), "identity")}
}

func (p Paths) Cert() string       { return filepath.Join(p.Dir, "cert.pem") }
func (p Paths) ServerCert() string { return filepath.Join(p.Dir, "server_cert.pem") }
func (p Paths) Key() string        { return filepath.Join(p.Dir, "key.pem") }
func (p Paths) CA() string         { return filepath.Join(p.Dir, "ca.pem") }
func (p Paths) Endpoints() string  { return filepath.Join(p.Dir, "endpoints.yml") }
func (p Paths) Enrollment() string { return filepath.Join(p.Dir, "enrollment.json") }
func (p Paths) DB() string         { return filepath.Join(p.Dir, "db.proto.gzip") }

// in returns the same layout with the identity in dir, for enrolling
// into a temporary directory.
func (p Paths) in(dir string) Paths {
	return Paths{Config: filepath.Join(dir, "router.yml"), Dir: dir}
}
