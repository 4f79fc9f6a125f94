package metrics

import (
	"testing"
	"time"
)

func TestRingOutagesRekeys(t *testing.T) {
	r := New(10)
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	up := func(i int, in uint64, spi string, ike bool) Sample {
		return Sample{Time: t0.Add(time.Duration(i) * Interval), Tunnels: []Tunnel{{Name: "a", BytesIn: in, BytesOut: in / 2, IKEUp: ike, ChildIDs: []string{spi}}}}
	}
	r.Add(up(0, 0, "c1", true))
	r.Add(up(1, 1000, "c1", true))
	r.Add(up(2, 2000, "c2", true)) // rekey
	r.Add(up(3, 2000, "", false))  // outage starts
	r.Add(up(4, 0, "", false))
	r.Add(up(5, 100, "c3", true)) // outage ends, counters restarted
	os, ks := r.Events(time.Time{})
	if len(ks) != 1 || !ks[0].Time.Equal(t0.Add(2*Interval)) {
		t.Errorf("rekeys = %v, want one at sample 2", ks)
	}
	if len(os) != 1 || !os[0].Start.Equal(t0.Add(3*Interval)) || !os[0].End.Equal(t0.Add(5*Interval)) {
		t.Errorf("outages = %+v, want samples 3..5", os)
	}
	var rx uint64
	for _, h := range r.Hours() {
		rx += h.RxBytes
	}
	if rx != 2100 {
		t.Errorf("rx total = %d, want 2100", rx)
	}
	for i := 6; i < 30; i++ {
		r.Add(up(i, 100, "c3", true))
	}
	if got := len(r.Samples(time.Time{})); got != 10 {
		t.Errorf("ring holds %d samples, want capacity 10", got)
	}
	s := r.Samples(time.Time{})
	if !s[0].Time.Before(s[9].Time) {
		t.Error("samples not oldest first")
	}
	dir := t.TempDir()
	if err := r.Save(dir); err != nil {
		t.Fatal(err)
	}
	r2 := New(10)
	if err := r2.Load(dir); err != nil {
		t.Fatal(err)
	}
	if len(r2.Hours()) != len(r.Hours()) {
		t.Errorf("loaded %d hours, saved %d", len(r2.Hours()), len(r.Hours()))
	}
}

func TestDefaultCapacityCovers24h(t *testing.T) {
	if time.Duration(DefaultCapacity)*Interval < 24*time.Hour {
		t.Errorf("DefaultCapacity covers %v", time.Duration(DefaultCapacity)*Interval)
	}
}
