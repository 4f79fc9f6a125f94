package opmenu

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
)

func TestSaveLoopAlternatesVersions(t *testing.T) {
	store, err := config.OpenStore(filepath.Join(t.TempDir(), "config"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	saves := 0
	err = SaveLoop(ctx, store, withTunnel(), 1, func(string, ...any) {
		if saves++; saves == 7 {
			cancel()
		}
	})
	if err != context.Canceled {
		t.Fatalf("SaveLoop = %v, want context.Canceled", err)
	}
	c, info, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Seven saves, a first: the last is the seventh, version a.
	if info.Seq != 7 || c.System.Hostname != SaveLoopHostnames[0] || len(c.Tunnels) != 1 {
		t.Errorf("after 7 saves: generation %d, hostname %q, %d tunnels", info.Seq, c.System.Hostname, len(c.Tunnels))
	}
}
