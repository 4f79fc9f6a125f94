package main

import (
	"context"

	"github.com/tunneler/tunneler/appliance/opmenu"
	"github.com/tunneler/tunneler/appliance/ziti"
)

// setupRouter is boot step 10's first half: the OpenZiti edge router
// added to the supervisor (appliance/ziti.Service), not started yet.
func (b *pid1) setupRouter() {
	if b.sup == nil || !b.perm.Mounted {
		return
	}
	r, err := ziti.NewService(ziti.ServiceOptions{
		Supervisor:      ziti.Supervised(b.sup),
		Router:          ziti.New(b.cfg.WithDefaults().Router, b.reaper.Run),
		PoliciesMissing: b.policiesMissing,
		Log:             b.log,
	})
	if err != nil {
		b.problem("router: %v", err)
		return
	}
	b.router = r
	go r.Report(context.Background())
}

// startRouter is boot step 10, run once the IPsec policies are in: the
// router starts if it is enrolled.
func (b *pid1) startRouter() {
	if err := b.router.Start(); err != nil {
		b.problem("router: %v", err)
	}
}

// policiesMissing reports whether the config has policy-mode tunnels but
// the kernel holds no XFRM policy of ours (installing them failed).
func (b *pid1) policiesMissing() bool { return b.sites.PoliciesMissing() }

// routerMenu is the console menu's view of the router.
func (b *pid1) routerMenu() *opmenu.Router {
	return &opmenu.Router{
		Status:   func() string { return b.router.BannerLine() },
		Enrolled: func() bool { return b.router.Status().Enrolled },
		Enroll:   func(ctx context.Context, jwt []byte, p func(string)) error { return b.router.Enroll(ctx, jwt, p) },
		Unenroll: func(ctx context.Context) error { return b.router.Unenroll(ctx) },
		Kill:     func() (int, error) { return b.router.Kill() },
		Check:    func(jwt []byte) error { return b.router.CheckToken(jwt) },
	}
}
