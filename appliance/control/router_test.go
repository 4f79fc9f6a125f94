package control

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
)

var tokenNow = time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)

// routerJWT is a token of the shape ziti.ParseToken checks (the signature
// is the controller's business), expiring at exp.
func routerJWT(t *testing.T, exp time.Time) []byte {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return []byte(enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
		"em": "erott", "iss": "https://ctrl.example.net:1280", "sub": "r1", "jti": "x",
		"exp": exp.Unix(), "ctrls": []string{"tls:ctrl.example.net:1280"}}) + ".c2ln")
}

// waitDone polls b's progress until the apply's last event.
func waitDone(t *testing.T, b *Owner) []ApplyEvent {
	t.Helper()
	var all []ApplyEvent
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		all = b.Progress(0)
		if len(all) > 0 && all[len(all)-1].Done {
			return all
		}
	}
	t.Fatalf("no last event: %+v", all)
	return nil
}

// The wizard's router step: SaveAndEnroll checks the token first (a bad
// one saves nothing), enrolls once the network is applied, and the
// apply's last event waits for the enrollment and says how it went.
func TestSaveAndEnroll(t *testing.T) {
	for _, c := range []struct {
		name      string
		exp       time.Time
		enrollErr error
		wantField string // a field error: nothing saved
		wantState string
		wantMsg   string
	}{
		{name: "expired", exp: tokenNow.Add(-time.Hour), wantField: "expired"},
		{name: "enrolls", exp: tokenNow.Add(time.Hour), wantState: "ok", wantMsg: "tunnel site1 is up; router enrolled"},
		{name: "controller refuses", exp: tokenNow.Add(time.Hour), enrollErr: errors.New("the controller refused the token: already used"),
			wantState: "failed", wantMsg: "tunnel site1 is up; the router was NOT enrolled: the controller refused the token: already used"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &memStore{}
			applied := make(chan struct{}, 1)
			var got []byte
			b := New(Deps{Store: st, Now: func() time.Time { return tokenNow },
				Apply:   func(context.Context, config.Config) error { applied <- struct{}{}; return nil },
				Tunnels: func() Tunnels { return &fakeTunnels{up: true} },
				EnrollRouter: func(ctx context.Context, jwt []byte, progress func(string)) error {
					select {
					case <-applied: // the network first: the controller is reached through it
					default:
						t.Error("enrollment before the network was applied")
					}
					got = jwt
					progress("asking the controller for certificates")
					return c.enrollErr
				}, TunnelTimeout: 5 * time.Second})
			jwt := routerJWT(t, c.exp)
			errs, err := b.SaveAndEnroll(context.Background(), Change{Config: testConfig()}, jwt)
			if err != nil {
				t.Fatal(err)
			}
			if c.wantField != "" {
				if len(errs) != 1 || errs[0].Field != "router.jwt" || !strings.Contains(errs[0].Message, c.wantField) || st.has {
					t.Fatalf("errors %v, saved %v", errs, st.has)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			evs := waitDone(t, b)
			last := evs[len(evs)-1]
			if string(got) != string(jwt) || last.State != c.wantState || !strings.HasPrefix(last.Message, c.wantMsg) {
				t.Errorf("token passed %v; last event %+v", string(got) == string(jwt), last)
			}
			var router []string
			for _, e := range evs {
				if e.Step == "router" {
					router = append(router, e.State+": "+e.Message)
				}
			}
			if len(router) != 3 || !strings.Contains(router[1], "asking the controller") {
				t.Errorf("router events %q", router)
			}
		})
	}
}

// The token check is ParseToken's, at the box's clock; a box without a
// router says so.
func TestCheckRouterToken(t *testing.T) {
	b := New(Deps{Now: func() time.Time { return tokenNow }, EnrollRouter: func(context.Context, []byte, func(string)) error { return nil }})
	if err := b.CheckRouterToken(routerJWT(t, tokenNow.Add(time.Hour))); err != nil {
		t.Errorf("good token: %v", err)
	}
	if err := b.CheckRouterToken([]byte("a.b")); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("malformed token: %v", err)
	}
	if err := New(Deps{}).CheckRouterToken(routerJWT(t, tokenNow.Add(time.Hour))); err == nil || !strings.Contains(err.Error(), "no router") {
		t.Errorf("no router: %v", err)
	}
}
