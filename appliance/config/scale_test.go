package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/config/configtest"
)

// The largest document the limits allow must validate, and fast: the
// whole document is validated on every save, even of one tunnel.
func TestValidateAtScale(t *testing.T) {
	c := configtest.Scale(1000, 1000, 4)
	if errs := c.Validate(); errs != nil {
		t.Fatalf("Validate() of 1,000 tunnels and 1,000 sites = %v", errs.Err())
	}
}

// BenchmarkValidate: Validate of a head-end document by size, for
// `make bench` (issue 18: at 1,000 tunnels, with as many sites of four
// remotes).
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		for _, sites := range []int{0, n} {
			c := configtest.Scale(n, sites, 4)
			b.Run(fmt.Sprintf("tunnels=%d/sites=%d", n, sites), func(b *testing.B) {
				for b.Loop() {
					if errs := c.Validate(); errs != nil {
						b.Fatal(errs.Err())
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms-validate")
			})
		}
	}
}

// An overlap in the largest document is still reported at the field that
// overlaps, naming the earlier field it overlaps.
func TestValidateAtScaleNamesTheOverlap(t *testing.T) {
	c := configtest.Scale(1000, 1000, 4)
	c.Tunnels[999].RemoteNetworks = append(c.Tunnels[999].RemoteNetworks, c.Tunnels[3].RemoteNetworks[0])
	c.Sites[500].RemoteNetworks[0] = config.MustPrefix("10.0.7.128/25") // inside tunnels[7]'s
	errs := c.Validate()
	want := []string{
		"tunnels[999].remote_networks[1]: 10.0.3.0/24 overlaps 10.0.3.0/24, a remote network of another tunnel (tunnels[3].remote_networks[0]); the box could not tell which tunnel to use",
		"sites[500].remote_networks[0]: 10.0.7.128/25 overlaps 10.0.7.0/24 (tunnels[7].remote_networks[0]); the box could not tell which tunnel to use",
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Field+": "+e.Message)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate() (-want +got):\n%s", diff)
	}
}

// The largest document fits the size limits of every way in: Decode (the
// web UI, the API, provisioning from the ESP).
func TestLargestDocumentDecodes(t *testing.T) {
	c := configtest.Scale(1024, 1024, 4)
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// As a provisioning file or an import holds them: keys in clear.
	data = bytes.ReplaceAll(data, []byte(`"(hidden)"`), []byte(`"`+config.GeneratePSK().Reveal()+`"`))
	t.Logf("1,024 tunnels and 1,024 sites of 4 remotes: %d bytes", len(data))
	if _, err := config.Decode(data); err != nil {
		t.Fatalf("Decode: %v", err)
	}
}
