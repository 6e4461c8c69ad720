package server

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sessions are stateless signed cookies (auth.go), so ending one early needs server-side
// state: revokedSessions holds the cookies signed out before they expired, and a cut-off
// before which every session is refused (POST /api/v1/sessions/revoke).
//
// The state lives in memory only. That stays sound across a restart because the session
// key also mixes in a random value chosen at start (newSessionNonce): a restart signs
// everyone out, so no revoked cookie comes back to life. Rotating server.token (which
// needs a restart) ends every session as well.
type revokedSessions struct {
	mu        sync.Mutex
	notBefore int64            // unix seconds: a session issued at or before it is refused
	values    map[string]int64 // revoked cookie value -> its expiry, forgotten after it
}

func newRevokedSessions() *revokedSessions { return &revokedSessions{values: map[string]int64{}} }

func newSessionNonce() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// refused reports whether the session cookie value (valid and unexpired, "<expiry>.<mac>")
// was revoked.
func (v *revokedSessions) refused(value string, expiry int64) bool {
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	issued := expiry - int64(sessionTTL/time.Second)
	_, gone := v.values[value]
	return gone || issued <= v.notBefore
}

// revoke ends one session; now forgets the revocations that have expired anyway.
func (v *revokedSessions) revoke(value string, now time.Time) {
	exp, _, ok := strings.Cut(value, ".")
	n, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, e := range v.values {
		if e < now.Unix() {
			delete(v.values, k)
		}
	}
	v.values[value] = n
}

// revokeAll refuses every session issued up to now.
func (v *revokedSessions) revokeAll(now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.notBefore = now.Unix()
	clear(v.values)
}

// logout revokes the session the request carries (so a copied cookie stops working too),
// then hands over to the page's sign-out, which deletes the cookie in the browser.
func (s *Server) logout(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a := s.auth(); a.sessionOK(r) {
			c, _ := r.Cookie(sessionCookie)
			s.revoked.revoke(c.Value, s.clock.Now())
		}
		next(w, r)
	}
}

// apiRevokeSessions is POST /api/v1/sessions/revoke: every web session signed in so far
// ends (after a token leaked through a browser, or an operator left). API clients, which
// send the token itself, are unaffected.
func (s *Server) apiRevokeSessions(w http.ResponseWriter, _ *http.Request) {
	now := s.clock.Now()
	s.revoked.revokeAll(now)
	s.log.Info("every web session revoked over the API")
	writeJSON(w, http.StatusOK, map[string]string{"revokedBefore": now.UTC().Format(time.RFC3339)})
}
