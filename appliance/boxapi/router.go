package boxapi

import (
	"context"
	"errors"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ziti"
	"github.com/tunneler/tunneler/webui"
)

var _ webui.RouterAdmin = (*Box)(nil)

// enrollTimeout bounds an enrollment started from a page: the controller
// may be slow, but a browser should get an answer.
const enrollTimeout = 2 * time.Minute

// EnrollRouter implements webui.RouterAdmin. The enrollment runs on its
// own context: a browser that gives up must not cut it halfway.
func (b *Box) EnrollRouter(ctx context.Context, jwt []byte, progress func(string)) error {
	if b.d.EnrollRouter == nil {
		return errors.New("this box has no router to enroll")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enrollTimeout)
	defer cancel()
	b.d.Logf("web UI: router enrollment requested")
	return b.d.EnrollRouter(ctx, jwt, progress)
}

// UnenrollRouter implements webui.RouterAdmin.
func (b *Box) UnenrollRouter(ctx context.Context) error {
	if b.d.UnenrollRouter == nil {
		return errors.New("this box has no router")
	}
	b.d.Logf("web UI: router un-enrollment requested")
	return b.d.UnenrollRouter(context.WithoutCancel(ctx))
}

var _ webui.SetupEnroller = (*Box)(nil)

// CheckRouterToken implements webui.SetupEnroller: the same check the
// enrollment itself starts with, so the wizard can put the reason next
// to the field before anything is saved.
func (b *Box) CheckRouterToken(jwt []byte) error {
	if b.d.EnrollRouter == nil {
		return errors.New("this box has no router to enroll; skip this step")
	}
	_, err := ziti.ParseToken(jwt, b.d.Now())
	return err
}

// SaveAndEnroll implements webui.SetupEnroller: Save, and the apply that
// follows enrolls the router through EnrollRouter (the Router page's
// path) once the network is applied, its steps in Progress.
func (b *Box) SaveAndEnroll(ctx context.Context, c config.Config, jwt []byte) (config.FieldErrors, error) {
	if len(jwt) == 0 {
		return b.save(ctx, c, nil)
	}
	if err := b.CheckRouterToken(jwt); err != nil {
		return config.FieldErrors{{Field: "router.jwt", Message: err.Error()}}, nil
	}
	return b.save(ctx, c, jwt)
}

// enrollAtApply enrolls the router for apply n while the tunnels come
// up; the channel gives the result once. nil without a token.
func (b *Box) enrollAtApply(n int, jwt []byte) <-chan error {
	if len(jwt) == 0 {
		return nil
	}
	res := make(chan error, 1)
	b.event(n, "router", "running", "enrolling with the controller", false)
	go func() {
		err := b.EnrollRouter(context.Background(), jwt, func(step string) {
			b.event(n, "router", "running", step, false)
		})
		if err != nil {
			b.event(n, "router", "failed", "not enrolled: "+err.Error(), false)
		} else {
			b.event(n, "router", "ok", "enrolled; the router is starting", false)
		}
		res <- err
	}()
	return res
}

// finish records apply n's last event. With an enrollment under way it
// waits for it, and the last event says how both went.
func (b *Box) finish(n int, enrolled <-chan error, step, state, msg string) {
	if enrolled != nil {
		if err := <-enrolled; err != nil {
			state, msg = "failed", msg+"; the router was NOT enrolled: "+err.Error()+" (enroll it on the Router page)"
		} else {
			msg += "; router enrolled"
		}
	}
	b.event(n, step, state, msg, true)
}
