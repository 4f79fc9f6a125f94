package control

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec"
)

type memStore struct {
	mu  sync.Mutex
	c   config.Config
	has bool
	n   int
}

func (s *memStore) Load() (config.Config, config.LoadInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.has {
		return config.Config{}, config.LoadInfo{}, config.ErrNoConfig
	}
	return s.c, config.LoadInfo{}, nil
}

func (s *memStore) SaveFrom(c config.Config, _ string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c, s.has = c, true
	s.n++
	return s.n, nil
}

type fakeTunnels struct {
	mu sync.Mutex
	up bool
}

func (f *fakeTunnels) Status() []ipsec.TunnelStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.up {
		return []ipsec.TunnelStatus{{Name: "site1", Colour: ipsec.Green, IKEState: "ESTABLISHED",
			Children: []ipsec.ChildStatus{{Name: "site1", State: "INSTALLED", BytesIn: 10, BytesOut: 20, RekeyIn: time.Minute}}}}
	}
	return []ipsec.TunnelStatus{{Name: "site1", Colour: ipsec.Gray, IKEState: "CONNECTING", Reason: "connecting to the remote device"}}
}

func (f *fakeTunnels) Reconnect(string) error { return nil }

const psk = "Kp7rW2vX9qLm4TzB8nYc3HdF6jGs"

func testConfig() config.Config {
	return config.Config{Version: config.CurrentVersion,
		Admin: config.Admin{PasswordHash: config.NewSecret("$2a$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012")},
		Tunnels: []config.Tunnel{{Name: "site1", PeerAddress: "192.0.2.2", IKESettings: config.IKESettings{PSK: config.NewSecret(psk)},
			RemoteNetworks: []config.Prefix{config.ParsePrefix("10.9.0.0/24")}}}}
}

// A save keeps hidden secrets, applies through Deps.Apply, and reports
// progress until the tunnel is up; Config never carries the key.
func TestSaveApplyProgress(t *testing.T) {
	st := &memStore{}
	tun := &fakeTunnels{}
	applied := make(chan config.Config, 1)
	setupDone := false
	b := New(Deps{Store: st, Apply: func(_ context.Context, c config.Config) error { applied <- c; return nil },
		Tunnels: func() Tunnels { return tun }, SetupCode: func() string { return "1234-5678" },
		SetupDone: func() { setupDone = true }, TunnelTimeout: 5 * time.Second})
	if !b.CheckSetupCode("12345678") || b.CheckSetupCode("1234-5679") {
		t.Fatal("setup code check")
	}
	errs, err := b.Save(context.Background(), Change{Config: testConfig(), Base: 0, Source: FromWebUI})
	if err != nil || len(errs) > 0 {
		t.Fatalf("save: %v %v", errs, err)
	}
	if !setupDone || b.CheckSetupCode("1234-5678") {
		t.Error("setup mode did not end with an admin password saved")
	}
	if c := <-applied; c.Tunnels[0].PSK.Reveal() != psk {
		t.Error("apply got no key")
	}
	c, gen, ok := b.Config()
	if !ok || !c.Tunnels[0].PSK.IsHidden() || strings.Contains(c.String(), psk) {
		t.Fatalf("Config shows the key or no placeholder: %v", c)
	}
	// Send the hidden document back: the key is kept.
	if errs, err := b.Save(context.Background(), Change{Config: c, Base: gen}); err != nil || len(errs) > 0 {
		t.Fatalf("save back: %v %v", errs, err)
	}
	<-applied
	if s, _, _ := st.Load(); s.Tunnels[0].PSK.Reveal() != psk {
		t.Error("key lost on save back")
	}
	time.Sleep(400 * time.Millisecond)
	tun.mu.Lock()
	tun.up = true
	tun.mu.Unlock()
	deadline := time.Now().Add(3 * time.Second)
	var last ApplyEvent
	for time.Now().Before(deadline) && !last.Done {
		for _, e := range b.Progress(last.Seq) {
			last = e
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !last.Done || last.State != "ok" {
		t.Fatalf("last event %+v", last)
	}
	s := b.Status()
	if len(s.Tunnels) != 1 || s.Tunnels[0].Colour != Green || s.Tunnels[0].BytesOut != 20 || s.Router.State != "not enrolled" {
		t.Errorf("status %+v", s)
	}
}

func TestSaveFieldErrorsSaveNothing(t *testing.T) {
	st := &memStore{}
	b := New(Deps{Store: st})
	c := testConfig()
	c.Tunnels[0].PeerAddress = "203.0.113.300"
	errs, err := b.Save(context.Background(), Change{Config: c})
	if err != nil || len(errs) == 0 {
		t.Fatalf("want field errors, got %v %v", errs, err)
	}
	if st.has {
		t.Error("saved despite errors")
	}
}

func TestSlogTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 30, 0, time.UTC)
	if got := slogTime("time=23:59:58 level=INFO msg=x", now); !got.Equal(time.Date(2026, 11, 22, 23, 59, 58, 0, time.UTC)) {
		t.Errorf("across midnight: %v", got)
	}
}

// The apply page polls from Seq 0: it must see only the latest apply, so
// an earlier apply's last event cannot end the new one's progress.
func TestProgressShowsLatestApplyOnly(t *testing.T) {
	b := New(Deps{Store: &memStore{}, TunnelTimeout: time.Second})
	c := testConfig()
	c.Tunnels = nil
	b.Save(context.Background(), Change{Config: c, Base: 0})
	time.Sleep(200 * time.Millisecond)
	first := b.Progress(0)
	if len(first) == 0 || !first[len(first)-1].Done {
		t.Fatalf("first apply: %+v", first)
	}
	b.Save(context.Background(), Change{Config: c, Base: 1})
	second := b.Progress(0)
	if len(second) == 0 || second[0].Seq <= first[len(first)-1].Seq || second[0].Step != "config" {
		t.Errorf("second apply's progress starts with %+v", second)
	}
}
