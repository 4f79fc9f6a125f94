package ipsec

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/config/configtest"
)

// At a head-end's size, status costs charon one list-sas per refresh for
// every SA and one get-conns (what it has loaded), and reading the status
// none at all.
func TestStatusAsksCharonOncePerRefresh(t *testing.T) {
	c, f := quietClient()
	tunnels := configtest.Scale(1000, 250, 4).AllTunnels()
	if err := c.Apply(tunnels); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if st := c.Status(); len(st) != len(tunnels) {
			t.Fatalf("Status() has %d tunnels, want %d", len(st), len(tunnels))
		}
	}
	if want := []string{"list-sas", "get-conns "}; !cmp.Equal(want, f.calls) {
		t.Errorf("one refresh and ten status reads of %d tunnels sent %d commands to charon (%v...), want %v",
			len(tunnels), len(f.calls), f.calls[:min(5, len(f.calls))], want)
	}
}

// A change to one tunnel of a thousand reloads that tunnel only: the
// others are neither unloaded nor terminated, even when the new tunnel's
// place in the list moves the others (issue 18, item 2).
func TestOneChangeOfAThousandReloadsOnlyIt(t *testing.T) {
	c, f := quietClient()
	doc := configtest.Scale(1000, 0, 0)
	if err := c.Apply(doc.AllTunnels()); err != nil {
		t.Fatal(err)
	}

	edit := func(name string, change func(*config.Config)) []string {
		t.Helper()
		change(&doc)
		f.calls = nil
		if err := c.Apply(doc.AllTunnels()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return f.calls
	}
	tests := []struct {
		name   string
		change func(*config.Config)
		want   []string
	}{
		{"a remote network added to t500", func(d *config.Config) {
			d.Tunnels[499].RemoteNetworks = append(d.Tunnels[499].RemoteNetworks, config.MustPrefix("10.200.0.0/24"))
		}, []string{"unload-conn t500", "terminate t500", "load-shared tunneler-psk-t500", "load-conn t500"}},
		{"a tunnel inserted first", func(d *config.Config) {
			d.Tunnels = slices.Insert(d.Tunnels, 0, config.Tunnel{Name: "new", PeerAddress: "203.0.113.50",
				RemoteNetworks: []config.Prefix{config.MustPrefix("10.201.0.0/24")}, IKESettings: config.IKESettings{PSK: config.GeneratePSK()}})
		}, []string{"load-shared tunneler-psk-new", "load-conn new"}},
		{"t7 deleted", func(d *config.Config) {
			d.Tunnels = slices.DeleteFunc(d.Tunnels, func(t config.Tunnel) bool { return t.Name == "t7" })
		}, []string{"unload-conn t7", "unload-shared tunneler-psk-t7", "terminate t7"}},
	}
	for _, tc := range tests {
		got := edit(tc.name, tc.change)
		// terminate's argument is the IKE SA's name; the fake records the
		// command and the first argument it knows.
		for i := range got {
			got[i] = strings.TrimSpace(got[i])
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: charon got (-want +got):\n%s", tc.name, diff)
		}
	}
}

// quietClient is fakeClient without a log line per tunnel.
func quietClient() (*Client, *fakeCharon) {
	f := &fakeCharon{}
	c := NewClient(Options{Logf: func(string, ...any) {}})
	c.sess = f
	return c, f
}
