package sites

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunneler/tunneler/appliance/alarm"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

// Start at boot: the inside address and the policies go in before charon
// is added, loaded and started; without tunnels nothing runs.
func TestStart(t *testing.T) {
	tests := []struct {
		name     string
		cfg      config.Config
		o        boxOpts
		want     []string
		problems []string
		client   bool // Client() is not nil afterwards
		sites    []string
	}{
		{name: "no tunnels", cfg: configWith(nil)},
		{
			name: "plain tunnel", cfg: configWith([]config.Tunnel{plain()}),
			want:   []string{"inside 100.64.0.1", "policies pol=198.51.100.9", "charon add", "charon load pol", "charon start"},
			client: true,
		},
		{
			name: "a site: policies of its first remote, charon loads both",
			cfg:  configWith([]config.Tunnel{plain()}, hq()),
			want: []string{"inside 100.64.0.1", "policies pol=198.51.100.9,hq-r1=192.0.2.1", "charon add",
				"charon load pol,hq-r1,hq-r2", "charon start"},
			client: true, sites: []string{"hq"},
		},
		{
			name: "no supervisor: policies only", cfg: configWith([]config.Tunnel{plain()}, hq()),
			o:    boxOpts{noCharon: true},
			want: []string{"inside 100.64.0.1", "policies pol=198.51.100.9,hq-r1=192.0.2.1"},
		},
		{
			name: "no netlink: nothing starts", cfg: configWith([]config.Tunnel{plain()}),
			o:        boxOpts{policiesErr: errors.New("EPERM")},
			want:     []string{"inside 100.64.0.1"},
			problems: []string{"ipsec: netlink: EPERM"},
		},
		{
			name: "charon does not start", cfg: configWith([]config.Tunnel{plain()}, hq()),
			o:        boxOpts{startErr: errors.New("no such file")},
			want:     []string{"inside 100.64.0.1", "policies pol=198.51.100.9,hq-r1=192.0.2.1", "charon add", "charon load pol,hq-r1,hq-r2", "charon start"},
			problems: []string{"ipsec: start charon: no such file"},
			// The client and the sites stay, as charon's unit does.
			client: true, sites: []string{"hq"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBox(tt.o)
			b.m.Start(tt.cfg)
			if diff := cmp.Diff(tt.want, b.t.all()); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.problems, b.problemLines()); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if got := b.m.Client() != nil; got != tt.client {
				t.Errorf("Client() != nil is %v, want %v", got, tt.client)
			}
			var sites []string
			for _, s := range b.m.Sites() {
				sites = append(sites, s.Site)
			}
			if diff := cmp.Diff(tt.sites, sites); diff != "" {
				t.Errorf("sites (-want +got):\n%s", diff)
			}
		})
	}
}

// The first tunnel saved after a boot without any starts charon.
func TestApplyFirstTunnelsStartCharon(t *testing.T) {
	b := newBox(boxOpts{})
	b.m.Start(configWith(nil))
	b.m.Apply(configWith(nil))
	if got := b.t.all(); len(got) != 0 {
		t.Fatalf("a config without tunnels did something: %q", got)
	}
	b.m.Apply(configWith(nil, hq()))
	want := []string{"inside 100.64.0.1", "policies hq-r1=192.0.2.1", "charon add", "charon load hq-r1,hq-r2", "charon start"}
	if diff := cmp.Diff(want, b.t.all()); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if b.m.Client() == nil || b.m.Group() == nil {
		t.Errorf("Client() %v, Group() %v after the first tunnels", b.m.Client(), b.m.Group())
	}
}

// Apply waits for Start (before it the crypto modules are not loaded), and
// gives up with a warning when the boot never starts IPsec.
func TestApplyWaitsForStart(t *testing.T) {
	b := newBox(boxOpts{})
	done := make(chan struct{})
	go func() {
		b.m.Apply(configWith([]config.Tunnel{plain()}))
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Apply returned before Start")
	case <-time.After(50 * time.Millisecond):
	}
	b.m.Start(configWith(nil))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Apply still waits after Start")
	}
	if got := b.t.all(); !strings.HasPrefix(strings.Join(got, ";"), "inside 100.64.0.1;policies pol=") {
		t.Errorf("steps after Start: %q", got)
	}

	late := newBox(boxOpts{startWait: 20 * time.Millisecond})
	late.m.Apply(configWith([]config.Tunnel{plain()}))
	if got := late.t.all(); len(got) != 0 {
		t.Errorf("Apply without Start did %q", got)
	}
	if !strings.Contains(late.log.String(), "the saved tunnels apply at the next boot") {
		t.Errorf("no warning; log:\n%s", late.log.String())
	}
}

// failOver takes hq from remote 1 to remote 2 the way charon's view does:
// both up, then remote 1 down; the runner restarts it and, after the
// restart grace, activates remote 2.
func failOver(t *testing.T, b *box) {
	t.Helper()
	b.client.set(green("hq-r1"), green("hq-r2"))
	b.client.set(down("hq-r1"), green("hq-r2"))
	b.t.waitFor(t, "terminate hq-r1")
	if got := b.t.waitFor(t, "policies "); !strings.Contains(got, "hq-r2=192.0.2.2") {
		t.Fatalf("failover installed %q, want hq on remote 2", got)
	}
}

// A failover activation installs cfg.Expand(active); a config change
// touches only what it changes (issue 18): a plain tunnel or a new site
// leaves hq on its remote with its runner and alarms; a change to hq
// itself starts hq afresh on its preferred remote and clears its alarms.
func TestApplyTouchesOnlyChangedSites(t *testing.T) {
	b := newBox(boxOpts{})
	b.m.Start(configWith(nil, hq()))
	g := b.m.Group()
	failOver(t, b)
	waitActive(t, b, "hq", 1)
	if len(b.m.Alarms().Active()) == 0 {
		t.Fatal("no alarm for the failed remote")
	}

	// A plain tunnel added: the site stays on remote 2.
	b.m.Apply(configWith([]config.Tunnel{plain()}, hq()))
	if b.m.Group() != g {
		t.Error("unchanged sites: the group was replaced")
	}
	if got := b.t.waitFor(t, "policies "); got != "policies pol=198.51.100.9,hq-r2=192.0.2.2" {
		t.Errorf("unchanged site: %q, want it kept on remote 2", got)
	}
	if got := b.t.waitFor(t, "charon load "); got != "charon load pol,hq-r1,hq-r2" {
		t.Errorf("charon: %q", got)
	}
	if len(b.m.Alarms().Active()) == 0 {
		t.Error("unchanged sites: alarms cleared")
	}

	// A new site: it starts on its preferred remote; hq stays where it is,
	// with its alarm.
	branch := site("branch", "10.10.0.0/24", "192.0.2.7", "192.0.2.8")
	b.m.Apply(configWith([]config.Tunnel{plain()}, hq(), branch))
	if b.m.Group() != g {
		t.Error("a new site replaced the whole group")
	}
	if got := b.t.waitFor(t, "policies "); got != "policies pol=198.51.100.9,hq-r2=192.0.2.2,branch-r1=192.0.2.7" {
		t.Errorf("new site: %q, want hq kept on remote 2 and branch on remote 1", got)
	}
	waitActive(t, b, "hq", 1)
	if !alarmActive(b, alarm.RemoteKey("hq-r1")) {
		t.Errorf("a new site cleared hq's alarm: %+v", b.m.Alarms().Active())
	}
	var sites []string
	for _, s := range b.m.Sites() {
		sites = append(sites, s.Site)
	}
	if diff := cmp.Diff([]string{"hq", "branch"}, sites); diff != "" {
		t.Errorf("sites (-want +got):\n%s", diff)
	}

	// hq itself changed: it starts afresh on remote 1, and its alarms end;
	// branch is left alone.
	hq2 := hq()
	hq2.HoldDown = config.Dur(2 * time.Hour)
	b.m.Apply(configWith([]config.Tunnel{plain()}, hq2, branch))
	if got := b.t.waitFor(t, "policies "); got != "policies pol=198.51.100.9,hq-r1=192.0.2.1,branch-r1=192.0.2.7" {
		t.Errorf("changed site: %q, want hq on remote 1", got)
	}
	cleared := false
	for _, c := range b.m.Alarms().History() {
		if c.Kind == alarm.Cleared && c.Key == alarm.RemoteKey("hq-r1") && strings.HasPrefix(c.Reason, "the site was reconfigured") {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the reconfigured site kept its alarms: %+v", b.m.Alarms().History())
	}
}

func alarmActive(b *box, key string) bool {
	for _, a := range b.m.Alarms().Active() {
		if a.Key == key {
			return true
		}
	}
	return false
}

func waitActive(t *testing.T, b *box, site string, remote int) {
	t.Helper()
	for range 500 {
		for _, s := range b.m.Sites() {
			if s.Site == site && s.Active == remote {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("site %s not on remote %d: %+v", site, remote+1, b.m.Sites())
}

// An activation by a runner a newer config replaced does nothing: it
// must not move policies the new runner owns.
func TestStaleActivationIgnored(t *testing.T) {
	b := newBox(boxOpts{})
	b.m.Start(configWith(nil, hq()))
	gen, epoch := current(b, "hq")
	stale := b.m.activator(b.m.run, gen, epoch)

	hq2 := hq()
	hq2.HoldDown = config.Dur(2 * time.Hour)
	b.m.Apply(configWith(nil, hq2, site("branch", "10.10.0.0/24", "192.0.2.7", "192.0.2.8")))
	before := len(b.t.all())
	if err := stale("hq", 1); err != nil {
		t.Fatalf("stale activation: %v", err)
	}
	if got := b.t.all()[before:]; len(got) != 0 {
		t.Errorf("stale activation did %q", got)
	}
	// So is one of a group a newer config replaced.
	if err := b.m.activator(b.m.run, gen-1, epoch+1)("hq", 1); err != nil || len(b.t.all()) != before {
		t.Errorf("activation of an older group did %q (%v)", b.t.all()[before:], err)
	}

	// The current runner's activation does move the site.
	gen, epoch = current(b, "hq")
	if err := b.m.activator(b.m.run, gen, epoch)("hq", 1); err != nil {
		t.Fatal(err)
	}
	if got := b.t.all()[before:]; len(got) != 1 || got[0] != "policies hq-r2=192.0.2.2,branch-r1=192.0.2.7" {
		t.Errorf("current activation did %q", got)
	}
}

// current is the group's generation and the site's runner's epoch.
func current(b *box, site string) (gen, epoch int) {
	b.m.sites.mu.Lock()
	defer b.m.sites.mu.Unlock()
	return b.m.sites.gen, b.m.sites.epoch[site]
}

// A failed policy install fails the activation, so the runner retries it.
func TestActivationFails(t *testing.T) {
	b := newBox(boxOpts{})
	b.m.Start(configWith(nil, hq()))
	b.pol.mu.Lock()
	b.pol.err = errors.New("EBUSY")
	b.pol.mu.Unlock()
	gen, epoch := current(b, "hq")
	err := b.m.activator(b.m.run, gen, epoch)("hq", 1)
	if err == nil || !strings.Contains(err.Error(), "move site hq to remote 2: EBUSY") {
		t.Errorf("err %v", err)
	}
}

// Until charon has been seen once, every remote reads "not connected",
// which is no news of a remote: no alarm, no restart at every boot.
func TestCharonSeenGatesTheSites(t *testing.T) {
	b := newBox(boxOpts{})
	b.m.Start(configWith(nil, hq()))
	notConnected := func(name string) ipsec.TunnelStatus {
		return ipsec.TunnelStatus{Name: name, Colour: ipsec.Gray, Reason: "charon is not running"}
	}
	b.client.set(notConnected("hq-r1"), notConnected("hq-r2"))
	time.Sleep(100 * time.Millisecond)
	if a := b.m.Alarms().Active(); len(a) != 0 {
		t.Fatalf("alarms before charon was seen: %+v", a)
	}
	// Once a tunnel shows charon is there, the same view is news.
	b.client.set(notConnected("hq-r1"), green("hq-r2"))
	deadline := time.Now().Add(5 * time.Second)
	for len(b.m.Alarms().Active()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no alarm for a remote down once charon was seen")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := b.m.Alarms().Active(); a[0].Key != alarm.RemoteKey("hq-r1") {
		t.Errorf("alarms: %+v", a)
	}
}

func TestRestartRemote(t *testing.T) {
	b := newBox(boxOpts{})
	if err := b.m.RestartRemote("hq", 1); err == nil {
		t.Error("RestartRemote without sites: no error")
	}
	b.m.Start(configWith(nil, hq()))
	if err := b.m.RestartRemote("hq", 2); err != nil {
		t.Fatal(err)
	}
	b.t.waitFor(t, "terminate hq-r2")
	b.t.waitFor(t, "initiate hq-r2")
	if err := b.m.RestartRemote("nowhere", 1); err == nil {
		t.Error("RestartRemote of an unknown site: no error")
	}
}

func TestPoliciesMissing(t *testing.T) {
	route := plain()
	route.Mode, route.IfID = config.ModeRoute, 7
	tests := []struct {
		name string
		cfg  config.Config
		o    boxOpts
		fail bool // the install fails
		want bool
	}{
		{name: "no tunnels", cfg: configWith(nil)},
		{name: "installed", cfg: configWith([]config.Tunnel{plain()}, hq())},
		{name: "route mode needs none", cfg: configWith([]config.Tunnel{route}), fail: true},
		{name: "install failed", cfg: configWith([]config.Tunnel{plain()}), fail: true, want: true},
		{name: "no netlink", cfg: configWith(nil, hq()), o: boxOpts{policiesErr: errors.New("EPERM")}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBox(tt.o)
			if tt.fail {
				b.pol.err = errors.New("EPERM")
			}
			b.m.Start(tt.cfg)
			if got := b.m.PoliciesMissing(); got != tt.want {
				t.Errorf("PoliciesMissing() = %v, want %v", got, tt.want)
			}
		})
	}
}
