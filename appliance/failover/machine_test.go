package failover

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// step is one line of a timeline: an input at a time, or a tick (in nil).
type step struct {
	t  float64
	in *Input
}

func up(t float64, r int) step { return step{t, &Input{Kind: TunnelUp, Remote: r - 1, Since: at(t)}} }
func upSince(t float64, r int, since float64) step {
	return step{t, &Input{Kind: TunnelUp, Remote: r - 1, Since: at(since)}}
}
func down(t float64, r int) step {
	return step{t, &Input{Kind: TunnelDown, Remote: r - 1, Reason: "DPD"}}
}
func mup(t float64, r int) step { return step{t, &Input{Kind: MonitorUp, Remote: r - 1}} }
func mdown(t float64, r int) step {
	return step{t, &Input{Kind: MonitorDown, Remote: r - 1, Reason: "3 probes lost"}}
}
func tick(t float64) step { return step{t, nil} }

// run plays a timeline and renders actions and events as lines like
// "12s failover r2 (from r1)" and "12s ACT activate r2".
func run(s Settings, steps []step) []string {
	m := NewMachine(s)
	var out []string
	for _, st := range steps {
		now := at(st.t)
		var acts []Action
		if st.in == nil {
			if n := m.Next(); !n.IsZero() && n.After(now) {
				// a tick before the deadline must do nothing
			}
			acts = m.Tick(now)
		} else {
			acts = m.Handle(now, *st.in)
		}
		for _, e := range m.Events() {
			l := fmt.Sprintf("%gs %s r%d", e.Time.Sub(t0).Seconds(), e.Kind, e.Remote+1)
			if e.From >= 0 {
				l += fmt.Sprintf(" (from r%d)", e.From+1)
			}
			out = append(out, l)
		}
		for _, a := range acts {
			out = append(out, fmt.Sprintf("%gs ACT %s r%d", st.t, a.Kind, a.Remote+1))
		}
	}
	return out
}

func TestTimelines(t *testing.T) {
	mon := Settings{Site: "hq", Remotes: 2, HoldDown: 30 * time.Second, RestartGrace: 2 * time.Second, Monitored: true}
	three := mon
	three.Remotes = 3
	plain := mon
	plain.Monitored = false
	healthy := []step{up(0, 1), up(0, 2), mup(1, 1)}
	failedOver := append(healthy[:3:3], mdown(10, 1), down(10.5, 1), tick(11.9), tick(12), mup(12.5, 2))

	for _, tc := range []struct {
		name  string
		s     Settings
		steps []step
		want  []string
	}{
		{"steady state does nothing", mon, append(healthy[:3:3], tick(100)), nil},
		{
			"monitor down: restart, then failover after the grace", mon, failedOver,
			[]string{"10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s failover r2 (from r1)", "12s ACT activate r2"},
		},
		{
			"restart recovers within the grace: no failover", mon,
			append(healthy[:3:3], mdown(10, 1), down(10.2, 1), up(10.8, 1), mup(11, 1), tick(12), tick(100)),
			[]string{"10s remote-down r1", "10s restart r1", "10s ACT restart r1", "11s remote-up r1"},
		},
		{
			"a stale up from before the failure does not count", mon,
			append(failedOver[:len(failedOver):len(failedOver)], upSince(20, 1, 5), tick(60)),
			[]string{"10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s failover r2 (from r1)", "12s ACT activate r2"},
		},
		{
			"failback after hold-down", mon,
			append(failedOver[:len(failedOver):len(failedOver)], up(40, 1), tick(69.9), tick(70), mup(70.5, 1)),
			[]string{"10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s failover r2 (from r1)", "12s ACT activate r2",
				"40s remote-up r1", "70s failback r1 (from r2)", "70s ACT activate r1"},
		},
		{
			"preferred flaps during hold-down: no failback", mon,
			append(failedOver[:len(failedOver):len(failedOver)], up(40, 1), down(60, 1), up(65, 1), tick(80), tick(94.9), tick(95)),
			[]string{"10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s failover r2 (from r1)", "12s ACT activate r2",
				"40s remote-up r1", "60s remote-down r1", "65s remote-up r1", "95s failback r1 (from r2)", "95s ACT activate r1"},
		},
		{
			"fails again soon after failback: hold-down doubles", mon,
			append(failedOver[:len(failedOver):len(failedOver)], up(40, 1), tick(70), mup(70.5, 1),
				mdown(75, 1), down(75.1, 1), tick(77), mup(77.5, 2), up(80, 1), tick(139.9), tick(140)),
			[]string{"10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s failover r2 (from r1)", "12s ACT activate r2",
				"40s remote-up r1", "70s failback r1 (from r2)", "70s ACT activate r1",
				"75s remote-down r1", "75s restart r1", "75s ACT restart r1", "77s failover r2 (from r1)", "77s ACT activate r2",
				"80s remote-up r1", "140s failback r1 (from r2)", "140s ACT activate r1"},
		},
		{
			"all remotes down, then the second recovers", mon,
			append(healthy[:3:3], down(5, 2), mdown(10, 1), down(10.5, 1), tick(12), tick(30), up(40, 2), mup(41, 2)),
			[]string{"5s remote-down r2", "10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s site-down r1",
				"40s remote-up r2", "40s failover r2 (from r1)", "40s site-up r2", "40s ACT activate r2"},
		},
		{
			"all remotes down, then the active one recovers", mon,
			append(healthy[:3:3], down(5, 2), mdown(10, 1), down(10.5, 1), tick(12), up(20, 1), mup(21, 1)),
			[]string{"5s remote-down r2", "10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s site-down r1",
				"21s remote-up r1", "21s site-up r1"},
		},
		{
			"skips an unhealthy second remote", three,
			append(healthy[:3:3], up(0, 3), down(5, 2), mdown(10, 1), tick(12)),
			[]string{"5s remote-down r2", "10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s failover r3 (from r1)", "12s ACT activate r3"},
		},
		{
			"the new remote's monitor fails too: on to the next", three,
			append(healthy[:3:3], up(0, 3), mdown(10, 1), tick(12), mdown(15, 2), tick(17)),
			[]string{"10s remote-down r1", "10s restart r1", "10s ACT restart r1", "12s failover r2 (from r1)", "12s ACT activate r2",
				"15s remote-down r2", "15s restart r2", "15s ACT restart r2", "17s failover r3 (from r2)", "17s ACT activate r3"},
		},
		{
			"without a monitor, charon's DPD drives it", plain,
			[]step{up(0, 1), up(0, 2), down(30, 1), tick(32), up(50, 1), tick(80)},
			[]string{"30s remote-down r1", "30s restart r1", "30s ACT restart r1", "32s failover r2 (from r1)", "32s ACT activate r2",
				"50s remote-up r1", "80s failback r1 (from r2)", "80s ACT activate r1"},
		},
		{
			"monitor events for a standby are ignored", mon,
			append(healthy[:3:3], mdown(10, 2), tick(20)),
			nil,
		},
		{
			"the preferred remote never came up: the site starts on it and moves", mon,
			[]step{up(0, 2), down(3, 1), tick(5)},
			[]string{"3s remote-down r1", "3s restart r1", "3s ACT restart r1", "5s failover r2 (from r1)", "5s ACT activate r2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, run(tc.s, tc.steps)); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNext(t *testing.T) {
	m := NewMachine(Settings{Site: "hq", Remotes: 2, HoldDown: 30 * time.Second, RestartGrace: 2 * time.Second, Monitored: true})
	m.Handle(at(0), Input{Kind: TunnelUp, Remote: 0})
	m.Handle(at(0), Input{Kind: TunnelUp, Remote: 1})
	m.Handle(at(1), Input{Kind: MonitorUp, Remote: 0})
	if n := m.Next(); !n.IsZero() {
		t.Errorf("steady: Next = %v", n)
	}
	m.Handle(at(10), Input{Kind: MonitorDown, Remote: 0})
	if n := m.Next(); !n.Equal(at(12)) {
		t.Errorf("restarting: Next = %v, want 12s", n.Sub(t0))
	}
	m.Tick(at(12))
	m.Handle(at(20), Input{Kind: TunnelUp, Remote: 0, Since: at(20)})
	if n := m.Next(); !n.Equal(at(50)) {
		t.Errorf("hold-down: Next = %v, want 50s", n.Sub(t0))
	}
	rs := m.Remotes()
	if !rs[1].Active || rs[0].Active || !rs[0].Healthy || rs[0].HoldDown != 30*time.Second {
		t.Errorf("Remotes() = %+v", rs)
	}
}

func TestUnmonitoredRemote(t *testing.T) {
	// Only remote 2 has a monitor target: remote 1's health is charon's.
	s := Settings{Site: "hq", Remotes: 2, HoldDown: 30 * time.Second, RestartGrace: time.Second, Monitored: true, Unmonitored: []bool{true, false}}
	got := run(s, []step{up(0, 1), up(0, 2), tick(5), down(10, 1), tick(11), up(20, 1), tick(50)})
	want := []string{"10s remote-down r1", "10s restart r1", "10s ACT restart r1", "11s failover r2 (from r1)", "11s ACT activate r2",
		"20s remote-up r1", "50s failback r1 (from r2)", "50s ACT activate r1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
