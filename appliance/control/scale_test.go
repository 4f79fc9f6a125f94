package control

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/config/configtest"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// allUp is charon's view with every tunnel of c up.
type allUp []ipsec.TunnelStatus

func (a allUp) Status() []ipsec.TunnelStatus { return a }
func (allUp) Reconnect(string) error         { return nil }

func upTunnels(c config.Config) allUp {
	var out allUp
	for _, t := range c.AllTunnels() {
		out = append(out, ipsec.TunnelStatus{Name: t.Name, Colour: ipsec.Green, IKEState: "ESTABLISHED",
			Children: []ipsec.ChildStatus{{Name: t.Name, State: "INSTALLED", BytesIn: 10, BytesOut: 20}}})
	}
	return out
}

// BenchmarkSnapshot: the owner's status snapshot and its hidden document
// (what every page and /metrics read) at 10, 100 and 1,000 tunnels, with
// as many sites of four remotes besides at 1,000.
func BenchmarkSnapshot(b *testing.B) {
	for _, size := range []struct{ tunnels, sites int }{{10, 0}, {100, 0}, {1000, 0}, {1000, 1000}} {
		c := configtest.Scale(size.tunnels, size.sites, 4)
		live := upTunnels(c)
		o := New(Deps{Boot: c, BootGen: 1, Proc: b.TempDir(), Tunnels: func() Tunnels { return live }})
		name := fmt.Sprintf("tunnels=%d/sites=%d", size.tunnels, size.sites)
		b.Run(name+"/status", func(b *testing.B) {
			for b.Loop() {
				if st := o.Status(); len(st.Tunnels) != len(live) {
					b.Fatalf("%d tunnels in the snapshot, want %d", len(st.Tunnels), len(live))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms-status")
		})
		b.Run(name+"/config", func(b *testing.B) {
			o.Config() // the first after a save hides the secrets once
			for b.Loop() {
				o.Config()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms-config")
		})
	}
}

// Config hands each caller its own copy: a page that edits its copy
// changes neither the stored document nor what the next page gets.
func TestConfigCopiesAreIndependent(t *testing.T) {
	o := New(Deps{Boot: testConfig(), BootGen: 1, Proc: t.TempDir()})
	a, _, _ := o.Config()
	a.Tunnels[0].Name = "changed"
	a.Tunnels[0].RemoteNetworks[0] = config.MustPrefix("10.99.0.0/24")
	b, _, _ := o.Config()
	if b.Tunnels[0].Name != "site1" || b.Tunnels[0].RemoteNetworks[0].String() != "10.9.0.0/24" || !b.Tunnels[0].PSK.IsHidden() {
		t.Errorf("the second Config() saw the first caller's edit: %+v", b.Tunnels[0])
	}
}

// A change to one tunnel of a thousand is watched alone: its progress
// neither waits for nor reports the others, even one that is down.
func TestApplyWatchesOnlyChangedTunnels(t *testing.T) {
	c := configtest.Scale(1000, 0, 0)
	live := upTunnels(c)
	live[2].Colour, live[2].Reason = ipsec.Gray, "the remote device does not answer" // t3
	var applied int
	o := New(Deps{Boot: c, BootGen: 1, Store: &memStore{c: c, has: true, n: 1}, Proc: t.TempDir(), TunnelTimeout: 3 * time.Second,
		Apply:   func(context.Context, config.Config) error { applied++; return nil },
		Tunnels: func() Tunnels { return live }})

	edit, gen, _ := o.Config()
	edit.Tunnels[0].RemoteNetworks = append(edit.Tunnels[0].RemoteNetworks, config.MustPrefix("10.200.0.0/24"))
	started := time.Now()
	if errs, err := o.Save(context.Background(), Change{Config: edit, Base: gen}); err != nil || errs != nil {
		t.Fatalf("save: %v %v", errs, err)
	}
	events := waitDone(t, o)
	var steps []string
	for _, e := range events {
		steps = append(steps, e.Step+": "+e.Message)
	}
	want := []string{"config: saved (generation 2)", "network: applying interfaces, firewall and IPsec policies",
		"network: interfaces, firewall and IPsec policies applied", "tunnel t1: connecting to 198.18.0.1",
		"tunnel t1: up: IKE SA and CHILD SA established", "tunnels: tunnel t1 is up"}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("progress of a one-tunnel change (-want +got):\n%s", diff)
	}
	t.Logf("one tunnel of 1,000 changed: saved and applied (fake drivers) in %v", time.Since(started).Round(time.Millisecond))

	// A change to no tunnel at all says so at once.
	edit, gen, _ = o.Config()
	edit.System.Hostname = "headend-2"
	if errs, err := o.Save(context.Background(), Change{Config: edit, Base: gen}); err != nil || errs != nil {
		t.Fatalf("save: %v %v", errs, err)
	}
	events = waitDone(t, o)
	if last := events[len(events)-1]; last.State != "ok" || last.Message != "applied; no tunnel changed (1000 keep running as they were)" {
		t.Errorf("last event %+v", last)
	}
	if applied != 2 {
		t.Errorf("the drivers applied %d times, want 2", applied)
	}
}

// BenchmarkSaveOneTunnel: a change to one tunnel saved through the owner
// (keys kept, the whole document validated, stored) until the drivers
// get it, at 10, 100 and 1,000 tunnels with as many sites of four
// remotes. The drivers are fakes: the box adds charon's reload of that
// one connection and its XFRM policies.
func BenchmarkSaveOneTunnel(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		c := configtest.Scale(n, n, 4)
		applied := make(chan struct{}, 1)
		o := New(Deps{Boot: c, BootGen: 1, Store: &memStore{c: c, has: true, n: 1}, Proc: b.TempDir(), TunnelTimeout: time.Second,
			Apply:   func(context.Context, config.Config) error { applied <- struct{}{}; return nil },
			Tunnels: func() Tunnels { return upTunnels(c) }})
		b.Run(fmt.Sprintf("tunnels=%d/sites=%d", n, n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				edit, gen, _ := o.Config()
				i++
				edit.Tunnels[0].DPDDelay = config.Dur(time.Duration(10+i%100) * time.Second)
				if errs, err := o.Save(context.Background(), Change{Config: edit, Base: gen}); err != nil || errs != nil {
					b.Fatalf("save: %v %v", errs, err)
				}
				<-applied
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms-save-to-apply")
		})
	}
}
