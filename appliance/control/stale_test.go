package control

import (
	"context"
	"errors"
	"testing"

	"github.com/tunneler/tunneler/appliance/ipsec"
)

// Two editors start from the same generation; the second to save is
// refused and the first one's change is kept, whoever they are.
func TestSaveRefusesStaleBase(t *testing.T) {
	tests := []struct {
		name          string
		first, second Source
	}{
		{"console then browser", FromConsole, FromWebUI},
		{"browser then console", FromWebUI, FromConsole},
		{"two API clients", FromAPI, FromAPI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &memStore{}
			o := New(Deps{Store: st})
			if _, err := o.Save(context.Background(), Change{Config: testConfig(), Base: 0, Source: FromWebUI}); err != nil {
				t.Fatal(err)
			}
			a, gen, _ := o.Config()
			b := a
			a.System.Hostname = "first"
			b.System.Hostname = "second"
			if errs, err := o.Save(context.Background(), Change{Config: a, Base: gen, Source: tc.first}); err != nil || len(errs) > 0 {
				t.Fatalf("first save: %v %v", errs, err)
			}
			_, err := o.Save(context.Background(), Change{Config: b, Base: gen, Source: tc.second})
			var stale *StaleError
			if !errors.As(err, &stale) || stale.Base != gen || stale.Newest != gen+1 {
				t.Fatalf("second save based on generation %d: %v", gen, err)
			}
			if got, _, _ := o.Config(); got.System.Hostname != "first" || st.n != gen+1 {
				t.Errorf("after the refused save: hostname %q, %d generations", got.System.Hostname, st.n)
			}
		})
	}
}

// The snapshot takes charon's colour as is: a tunnel that was up and
// dropped is orange in the web UI as on the console, never gray.
func TestStatusKeepsCharonsColour(t *testing.T) {
	tests := []struct {
		live ipsec.Colour
		want string
	}{
		{ipsec.Gray, Gray},
		{ipsec.Green, Green},
		{ipsec.Orange, Orange},
	}
	for _, tc := range tests {
		o := New(Deps{Boot: testConfig(), BootGen: 1, Proc: t.TempDir(),
			Tunnels: func() Tunnels { return colourTunnels(tc.live) }})
		got := o.Status().Tunnels
		if len(got) != 1 || got[0].Colour != tc.want {
			t.Errorf("charon says %s: status %+v", tc.live, got)
		}
	}
}

type colourTunnels ipsec.Colour

func (c colourTunnels) Status() []ipsec.TunnelStatus {
	return []ipsec.TunnelStatus{{Name: "site1", Colour: ipsec.Colour(c), IKEState: "CONNECTING"}}
}
func (colourTunnels) Reconnect(string) error { return nil }
