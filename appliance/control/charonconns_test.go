package control

import (
	"slices"
	"testing"

	"github.com/tunneler/tunneler/appliance/ipsec"
)

// charonTunnels is a charon client that also says what charon loaded.
type charonTunnels struct {
	staticTunnels
	conns []string
}

func (c charonTunnels) CharonConns() []string { return c.conns }

// TestStatusShowsCharonConns: the status carries what charon itself has
// loaded, which may name a tunnel the config no longer has; a client that
// cannot say leaves it empty.
func TestStatusShowsCharonConns(t *testing.T) {
	var live []ipsec.TunnelStatus
	for _, tc := range []struct {
		name string
		tun  Tunnels
		want []string
	}{
		{"charon says", charonTunnels{staticTunnels{&live}, []string{"site-a", "left-over"}}, []string{"site-a", "left-over"}},
		{"client cannot say", staticTunnels{&live}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := New(Deps{Boot: testConfig(), BootGen: 1, Tunnels: func() Tunnels { return tc.tun }})
			if got := o.Status().CharonConns; !slices.Equal(got, tc.want) {
				t.Errorf("CharonConns = %q, want %q", got, tc.want)
			}
		})
	}
}
