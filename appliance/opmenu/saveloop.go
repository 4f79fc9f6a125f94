package opmenu

import (
	"context"
	"fmt"

	"github.com/tunneler/tunneler/appliance/config"
)

// SaveLoopHostnames are the two versions SaveLoop alternates between; the
// next boot says which one it found.
var SaveLoopHostnames = [2]string{"saveloop-a", "saveloop-b"}

// SaveLoop is a test hook (kernel argument tunneler.debug=saveloop): it
// saves base again and again, alternating the hostname between two
// versions, until ctx ends, so a test can cut the power in the middle of
// a save and check that the next boot reads the old or the new version
// whole. Every logEvery saves it reports progress.
func SaveLoop(ctx context.Context, store *config.Store, base config.Config, logEvery int, logf func(string, ...any)) error {
	if logEvery < 1 {
		logEvery = 1
	}
	for n := 0; ctx.Err() == nil; n++ {
		c := base
		c.System.Hostname = SaveLoopHostnames[n%2]
		seq, err := store.Save(c)
		if err != nil {
			return fmt.Errorf("saveloop: save %d: %w", n, err)
		}
		if n%logEvery == 0 {
			logf("saveloop: saved config generation %d (hostname %s)", seq, c.System.Hostname)
		}
	}
	return ctx.Err()
}
