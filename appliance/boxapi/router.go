package boxapi

import (
	"context"
	"errors"
	"time"

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
