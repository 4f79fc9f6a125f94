package control

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tunneler/tunneler/appliance/config"
)

// storeOwner boots an owner on a real config store in a temp dir holding
// generation 1 = first.
func storeOwner(t *testing.T, dir string, first config.Config) (*Owner, *config.Store) {
	t.Helper()
	st, err := config.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveFrom(first, config.SourceWebUI); err != nil {
		t.Fatal(err)
	}
	return bootOwner(t, st), st
}

// bootOwner is init's boot: the owner starts from what the store loads.
func bootOwner(t *testing.T, st *config.Store) *Owner {
	t.Helper()
	c, info, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	return New(Deps{Store: st, Boot: c, BootGen: info.Seq, Proc: t.TempDir(), TunnelTimeout: 10 * time.Millisecond,
		TrialFile: filepath.Join(st.Dir, "trial.json")})
}

// twoTunnels is a later generation: site1 moved to another peer with
// another key, and site2 added.
func twoTunnels() config.Config {
	c := testConfig()
	c.Tunnels[0].PeerAddress = "192.0.2.9"
	c.Tunnels[0].PSK = config.NewSecret("Xq7vR2mLp9TzW4kYb8NcJ3hF")
	c.Tunnels = append(c.Tunnels, config.Tunnel{Name: "site2", PeerAddress: "192.0.2.3", IKESettings: config.IKESettings{PSK: config.NewSecret("Gm5tQw8ZrV2nLx6PkD9sHy4B")},
		RemoteNetworks: []config.Prefix{config.ParsePrefix("10.8.0.0/24")}})
	return c
}

// tunnelsOf compares tunnels with their keys (Secret hides its value
// from cmp otherwise).
func tunnelsOf(c config.Config) []config.Tunnel { return c.WithDefaults().Tunnels }

var secretCmp = cmp.Comparer(func(a, b config.Secret) bool { return a.Reveal() == b.Reveal() })

func waitApplied(t *testing.T, o *Owner, gen int) config.Config {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, g := o.Applied()
		if g == gen {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("generation %d not applied (applied: %d)", gen, g)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Restoring an older generation brings back its tunnels exactly, keys
// included, on trial; unconfirmed, the box goes back by itself; confirmed,
// it stays across a reboot.
func TestRestoreGeneration(t *testing.T) {
	ctx := context.Background()
	for _, confirm := range []bool{false, true} {
		t.Run(map[bool]string{false: "not confirmed", true: "confirmed, then reboot"}[confirm], func(t *testing.T) {
			dir := t.TempDir()
			o, st := storeOwner(t, dir, testConfig())
			if errs, err := o.Save(ctx, Change{Config: twoTunnels(), Base: 1, Source: FromWebUI}); err != nil || len(errs) > 0 {
				t.Fatal(errs, err)
			}
			var stale *StaleError
			if _, err := o.Restore(ctx, 1, 1, FromWebUI, time.Minute); !errors.As(err, &stale) {
				t.Fatalf("restore based on generation 1 after 2 was saved: %v, want a StaleError", err)
			}
			gen, err := o.Restore(ctx, 1, 2, FromWebUI, 150*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			got := waitApplied(t, o, gen)
			if d := cmp.Diff(tunnelsOf(testConfig()), got.Tunnels, secretCmp, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("restored tunnels differ from generation 1 (-want +got):\n%s", d)
			}
			if tr := o.Trial(); tr == nil || tr.Generation != gen || tr.Previous != 2 {
				t.Fatalf("trial = %+v, want generation %d on trial going back to 2", tr, gen)
			}
			h, err := o.History()
			if err != nil {
				t.Fatal(err)
			}
			if h[0].Seq != gen || h[0].Source != config.SourceRestore || h[0].RestoredFrom != 1 {
				t.Errorf("newest history entry = %+v, want generation %d from restore of 1", h[0], gen)
			}
			for _, line := range h[0].Summary(20) {
				if strings.Contains(line, "Xq7vR2mLp9") || strings.Contains(line, psk) {
					t.Errorf("history shows a key: %q", line)
				}
			}
			want := testConfig()
			if confirm {
				if err := o.ConfirmTrial(FromAPI); err != nil {
					t.Fatal(err)
				}
				o = bootOwner(t, st) // reboot
			} else {
				want = twoTunnels()
				deadline := time.Now().Add(5 * time.Second)
				for o.Trial() != nil && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			c, _, _ := o.stored()
			if d := cmp.Diff(tunnelsOf(want), tunnelsOf(c), secretCmp, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("tunnels at the end (-want +got):\n%s", d)
			}
		})
	}
}
