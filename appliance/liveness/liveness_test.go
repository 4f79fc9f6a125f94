package liveness

import (
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/ipsec"
)

func sample(ike string, children ...ipsec.ChildStatus) []ipsec.TunnelStatus {
	return []ipsec.TunnelStatus{{Name: "site1", IKEState: ike, Children: children}}
}

func child(spi string, in, out uint64) ipsec.ChildStatus {
	return ipsec.ChildStatus{SPIIn: spi, PacketsIn: in, PacketsOut: out, BytesIn: in * 100, BytesOut: out * 100}
}

func TestTracker(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const after = 30 * time.Second
	type want struct {
		lastIn  int // seconds after t0; -1: none
		sending int // -1: not sending unanswered
		silent  bool
	}
	for _, tc := range []struct {
		name  string
		steps []struct {
			s   int
			sts []ipsec.TunnelStatus
		}
		want want
	}{
		{"live both ways", steps(
			0, sample("ESTABLISHED", child("a", 0, 0)),
			5, sample("ESTABLISHED", child("a", 3, 3)),
			40, sample("ESTABLISHED", child("a", 9, 9))), want{40, -1, false}},
		{"idle: nothing sent, nothing expected", steps(
			0, sample("ESTABLISHED", child("a", 3, 3)),
			60, sample("ESTABLISHED", child("a", 3, 3))), want{0, -1, false}},
		{"ESP dropped on the path", steps(
			0, sample("ESTABLISHED", child("a", 3, 3)),
			5, sample("ESTABLISHED", child("a", 3, 5)),
			20, sample("ESTABLISHED", child("a", 3, 9)),
			35, sample("ESTABLISHED", child("a", 3, 12))), want{0, 5, true}},
		{"not yet silent long enough", steps(
			0, sample("ESTABLISHED", child("a", 3, 3)),
			5, sample("ESTABLISHED", child("a", 3, 5)),
			30, sample("ESTABLISHED", child("a", 3, 9))), want{0, 5, false}},
		{"inbound resumes", steps(
			0, sample("ESTABLISHED", child("a", 3, 3)),
			5, sample("ESTABLISHED", child("a", 3, 5)),
			50, sample("ESTABLISHED", child("a", 4, 9))), want{50, -1, false}},
		{"rekey keeps the tunnel's last inbound", steps(
			0, sample("ESTABLISHED", child("a", 3, 3)),
			10, sample("ESTABLISHED", child("a", 3, 3), child("b", 0, 0)),
			20, sample("ESTABLISHED", child("b", 0, 0))), want{0, -1, false}},
		{"new SA that already got packets", steps(
			0, sample("ESTABLISHED", child("a", 3, 3)),
			10, sample("ESTABLISHED", child("b", 2, 2))), want{10, -1, false}},
		{"IKE down: not silent, whatever the counters", steps(
			0, sample("ESTABLISHED", child("a", 3, 3)),
			5, sample("ESTABLISHED", child("a", 3, 9)),
			40, sample("CONNECTING")), want{0, -1, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New()
			last := 0
			for _, st := range tc.steps {
				tr.Observe(at(st.s), st.sts)
				last = st.s
			}
			got, ok := tr.Tunnel("site1")
			if !ok {
				t.Fatal("tunnel not tracked")
			}
			wantTime := func(s int) time.Time {
				if s < 0 {
					return time.Time{}
				}
				return at(s)
			}
			if !got.LastInbound.Equal(wantTime(tc.want.lastIn)) || !got.SendingSince.Equal(wantTime(tc.want.sending)) {
				t.Errorf("last inbound %v, sending since %v; want %v, %v", got.LastInbound, got.SendingSince, wantTime(tc.want.lastIn), wantTime(tc.want.sending))
			}
			if s := got.Silent(at(last), after); s != tc.want.silent {
				t.Errorf("silent %v, want %v", s, tc.want.silent)
			}
		})
	}
}

// steps pairs seconds with samples.
func steps(args ...any) []struct {
	s   int
	sts []ipsec.TunnelStatus
} {
	var out []struct {
		s   int
		sts []ipsec.TunnelStatus
	}
	for i := 0; i < len(args); i += 2 {
		out = append(out, struct {
			s   int
			sts []ipsec.TunnelStatus
		}{args[i].(int), args[i+1].([]ipsec.TunnelStatus)})
	}
	return out
}

func TestTrackerChildrenAndForget(t *testing.T) {
	tr := New()
	now := time.Now()
	tr.Observe(now, sample("ESTABLISHED", child("a", 1, 2)))
	got, _ := tr.Tunnel("site1")
	if c := got.Children["a"]; c.PacketsIn != 1 || c.PacketsOut != 2 || c.BytesOut != 200 || !c.LastInbound.Equal(now) {
		t.Errorf("child %+v", c)
	}
	tr.Observe(now, nil) // the tunnel was deleted
	if _, ok := tr.Tunnel("site1"); ok {
		t.Error("a removed tunnel is still tracked")
	}
}
