package control

import (
	"context"
	"errors"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ziti"
)

// enrollTimeout bounds an enrollment started from a page: the controller
// may be slow, but a browser should get an answer.
const enrollTimeout = 2 * time.Minute

// EnrollRouter is the Router page's (webui.RouterAdmin). The enrollment runs on its
// own context: a browser that gives up must not cut it halfway.
func (o *Owner) EnrollRouter(ctx context.Context, jwt []byte, progress func(string)) error {
	if o.d.EnrollRouter == nil {
		return errors.New("this box has no router to enroll")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enrollTimeout)
	defer cancel()
	o.d.Logf("web UI: router enrollment requested")
	return o.d.EnrollRouter(ctx, jwt, progress)
}

// UnenrollRouter is the Router page's (webui.RouterAdmin).
func (o *Owner) UnenrollRouter(ctx context.Context) error {
	if o.d.UnenrollRouter == nil {
		return errors.New("this box has no router")
	}
	o.d.Logf("web UI: router un-enrollment requested")
	return o.d.UnenrollRouter(context.WithoutCancel(ctx))
}

// CheckRouterToken is the setup wizard's (webui.SetupEnroller): the same check the
// enrollment itself starts with, so the wizard can put the reason next
// to the field before anything is saved.
func (o *Owner) CheckRouterToken(jwt []byte) error {
	if o.d.EnrollRouter == nil {
		return errors.New("this box has no router to enroll; skip this step")
	}
	_, err := ziti.ParseToken(jwt, o.d.Now())
	return err
}

// SaveAndEnroll is the setup wizard's (webui.SetupEnroller): Save, and the apply that
// follows enrolls the router through EnrollRouter (the Router page's
// path) once the network is applied, its steps in Progress.
func (o *Owner) SaveAndEnroll(ctx context.Context, ch Change, jwt []byte) (config.FieldErrors, error) {
	if len(jwt) > 0 {
		if err := o.CheckRouterToken(jwt); err != nil {
			return config.FieldErrors{{Field: "router.jwt", Message: err.Error()}}, nil
		}
	}
	_, errs, err := o.save(ch, jwt)
	return errs, err
}

// enrollAtApply enrolls the router for apply n while the tunnels come
// up; the channel gives the result once. nil without a token.
func (o *Owner) enrollAtApply(n int, jwt []byte) <-chan error {
	if len(jwt) == 0 {
		return nil
	}
	res := make(chan error, 1)
	o.event(n, "router", "running", "enrolling with the controller", false)
	go func() {
		err := o.EnrollRouter(context.Background(), jwt, func(step string) {
			o.event(n, "router", "running", step, false)
		})
		if err != nil {
			o.event(n, "router", "failed", "not enrolled: "+err.Error(), false)
		} else {
			o.event(n, "router", "ok", "enrolled; the router is starting", false)
		}
		res <- err
	}()
	return res
}

// finish records apply n's last event. With an enrollment under way it
// waits for it, and the last event says how both went.
func (o *Owner) finish(n int, enrolled <-chan error, step, state, msg string) {
	if enrolled != nil {
		if err := <-enrolled; err != nil {
			state, msg = "failed", msg+"; the router was NOT enrolled: "+err.Error()+" (enroll it on the Router page)"
		} else {
			msg += "; router enrolled"
		}
	}
	o.event(n, step, state, msg, true)
}
