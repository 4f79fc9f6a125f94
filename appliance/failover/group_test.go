package failover

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/config"
)

// A change to one site replaces that site's runner only: an unchanged
// site keeps its runner (so its active remote, health and hold-down), a
// changed or new one starts afresh with its own activator, a removed
// one stops.
func TestGroupUpdateTouchesOnlyChangedSites(t *testing.T) {
	site := func(name, network, peer string) config.Site {
		return config.Site{Name: name, RemoteNetworks: []config.Prefix{config.MustPrefix(network)},
			Remotes: []config.Remote{{PeerAddress: peer}, {PeerAddress: peer + "0"}}}
	}
	a, b, c := site("a", "10.1.0.0/24", "192.0.2.1"), site("b", "10.2.0.0/24", "192.0.2.2"), site("c", "10.3.0.0/24", "192.0.2.3")
	rec := &recorder{calls: make(chan string, 10)}
	var made []string
	g := NewGroup(config.Config{Sites: []config.Site{a, b, c}}, Options{Restarter: rec,
		ActivatorFor: func(site string) Activator { made = append(made, site); return rec }})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { g.Run(ctx); close(ran) }()
	before := map[string]*Runner{}
	for _, r := range g.runners() {
		before[r.Site] = r
	}

	b2 := b
	b2.HoldDown = config.Dur(5 * time.Second)
	started, stopped := g.Update(config.Config{Sites: []config.Site{a, b2, site("d", "10.4.0.0/24", "192.0.2.4")}})
	if diff := cmp.Diff([]string{"b", "d"}, started); diff != "" {
		t.Errorf("started (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b", "c"}, stopped); diff != "" {
		t.Errorf("stopped (-want +got):\n%s", diff)
	}
	after := map[string]*Runner{}
	var order []string
	for _, r := range g.runners() {
		after[r.Site] = r
		order = append(order, r.Site)
	}
	if after["a"] != before["a"] {
		t.Error("the unchanged site a got a new runner")
	}
	if after["b"] == before["b"] || after["d"] == nil {
		t.Error("the changed site b or the new site d runs no new runner")
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "b", "d"}, made); diff != "" {
		t.Errorf("activators made for (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "d"}, order); diff != "" {
		t.Errorf("sites (-want +got):\n%s", diff)
	}
	// Nothing changed: nothing restarts.
	if started, stopped := g.Update(config.Config{Sites: []config.Site{a, b2, site("d", "10.4.0.0/24", "192.0.2.4")}}); started != nil || stopped != nil {
		t.Errorf("an unchanged config started %v and stopped %v", started, stopped)
	}

	// Every runner, the stopped ones' too, ends with Run.
	cancel()
	select {
	case <-ran:
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
