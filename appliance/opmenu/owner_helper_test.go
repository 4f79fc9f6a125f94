package opmenu

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// testOwner is the real owner over a real store in a temporary folder,
// starting from c (saved as generation 1); applied collects what reached
// the drivers.
type testOwner struct {
	*control.Owner
	store *config.Store
	mu    sync.Mutex
	got   []config.Config
}

func newTestOwner(t *testing.T, c config.Config) *testOwner {
	t.Helper()
	store, err := config.OpenStore(filepath.Join(t.TempDir(), "config"))
	if err != nil {
		t.Fatal(err)
	}
	seq, err := store.Save(c)
	if err != nil {
		t.Fatal(err)
	}
	o := &testOwner{store: store}
	o.Owner = control.New(control.Deps{Store: store, Boot: c, BootGen: seq, Proc: t.TempDir(), TunnelTimeout: time.Second,
		Apply: func(_ context.Context, c config.Config) error {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.got = append(o.got, c)
			return nil
		}})
	return o
}

func (o *testOwner) applied() []config.Config {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]config.Config(nil), o.got...)
}
