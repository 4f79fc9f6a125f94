package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/control"
)

// Session lifetimes: idle logout after 30 minutes, and a fresh login at
// least every 12 hours whatever the activity.
const (
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 12 * time.Hour
	maxSessions     = 64
	cookieName      = "tunneler_session"
)

// session is one browser's login (or setup) state. The token is the cookie;
// csrf goes into every form and the X-CSRF-Token header of JSON calls.
type session struct {
	token   string
	csrf    string
	created time.Time
	seen    time.Time
	// setup is a session opened with the setup code; it may only walk the
	// wizard. It becomes a normal login once the first config is saved.
	setup bool
	draft config.Config // the wizard's document so far (setup sessions)
	// draftGen is the generation the draft started from: the wizard's
	// save is refused if the console saved since.
	draftGen int
	// generated holds a PSK the box generated and showed once, so a
	// wizard that goes back does not show it again.
	step int
	// routerJWT is the router's enrollment token from the wizard's router
	// step, used at apply; dropped once the setup is saved.
	routerJWT []byte
	// restorePlan is a backup opened for a restore, waiting for the
	// operator to confirm how its NIC roles map onto this box's.
	restorePlan *control.RestorePlan
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(now time.Time, setup bool) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*session{}
	}
	ss.expireLocked(now)
	if len(ss.m) >= maxSessions { // drop the least recently seen
		var oldest *session
		for _, s := range ss.m {
			if oldest == nil || s.seen.Before(oldest.seen) {
				oldest = s
			}
		}
		delete(ss.m, oldest.token)
	}
	s := &session{token: newToken(), csrf: newToken(), created: now, seen: now, setup: setup}
	ss.m[s.token] = s
	return s
}

func (ss *sessions) expireLocked(now time.Time) {
	for k, s := range ss.m {
		if now.Sub(s.seen) > sessionIdle || now.Sub(s.created) > sessionAbsolute {
			delete(ss.m, k)
		}
	}
}

// get returns the live session for r's cookie, touching it.
func (ss *sessions) get(r *http.Request, now time.Time) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s == nil {
		return nil
	}
	if now.Sub(s.seen) > sessionIdle || now.Sub(s.created) > sessionAbsolute {
		delete(ss.m, s.token)
		return nil
	}
	s.seen = now
	return s
}

func (ss *sessions) drop(token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, token)
}

// dropOthers ends every session but keep (after a password change).
func (ss *sessions) dropOthers(keep string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k := range ss.m {
		if k != keep {
			delete(ss.m, k)
		}
	}
}

func setSessionCookie(w http.ResponseWriter, s *session) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.token, Path: "/",
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(sessionAbsolute / time.Second),
	})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// csrfOK checks the per-session token from the form field or the header.
func csrfOK(r *http.Request, s *session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// limiter slows down password and setup code guessing per source address:
// the first few failures are free (typos), then each failure doubles the
// wait, up to maxBackoff. A success clears the address.
type limiter struct {
	mu sync.Mutex
	m  map[string]*attempts
}

type attempts struct {
	fails int
	until time.Time
	last  time.Time
}

const (
	freeFailures = 3
	firstBackoff = 2 * time.Second
	maxBackoff   = 15 * time.Minute
	maxTracked   = 4096
)

func sourceKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// wait returns how long the source must still wait before trying.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.m[key]; a != nil && now.Before(a.until) {
		return a.until.Sub(now)
	}
	return 0
}

func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*attempts{}
	}
	if len(l.m) >= maxTracked {
		for k, a := range l.m {
			if now.Sub(a.last) > maxBackoff {
				delete(l.m, k)
			}
		}
	}
	a := l.m[key]
	if a == nil {
		if len(l.m) >= maxTracked {
			return // under a flood from many sources; each still needs a guess per request
		}
		a = &attempts{}
		l.m[key] = a
	}
	a.fails++
	a.last = now
	if a.fails > freeFailures {
		d := firstBackoff << min(a.fails-freeFailures-1, 20)
		a.until = now.Add(min(d, maxBackoff))
	}
}

func (l *limiter) ok(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
}
