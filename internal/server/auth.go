package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
)

// auth guards the endpoints. The token is compared in constant time (over sha256 sums,
// so its length does not leak either) and never logged.
type auth struct {
	token        string
	openReadOnly bool
	clock        clock.Clock
	sessionKey   []byte // sessionKeyFor(token, nonce)
	secureCookie bool   // Secure on every session cookie, not only over TLS
	revoked      *revokedSessions
}

// MinTokenLen is the shortest server.token serve accepts: the token is the only thing
// between the network and triggering backups, and a short one can be guessed.
const MinTokenLen = 16

// sessionKeyFor derives the cookie MAC key from the token, so the key that signs cookies
// is never the bearer secret itself (and one token gives one unrelated key per purpose).
// nonce is random per process: a restart ends every session (see revokedSessions).
func sessionKeyFor(token string, nonce []byte) []byte {
	if token == "" {
		return nil
	}
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("lifeboat session"))
	mac.Write(nonce)
	return mac.Sum(nil)
}

func (a auth) tokenOK(given string) bool {
	if a.token == "" || given == "" {
		return false
	}
	want, got := sha256.Sum256([]byte(a.token)), sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// readOnly serves h to requests with the token, or to anyone when server.openReadOnly is
// set or no token is configured (config validation allows that only on loopback).
func (a auth) readOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.openReadOnly || a.token == "" || a.tokenOK(bearer(r)) {
			h(w, r)
			return
		}
		unauthorized(w)
	}
}

// write serves h only to requests with the token; without a configured token nothing
// may change state.
func (a auth) write(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.token == "" {
			writeError(w, http.StatusForbidden, "server.token is not configured, so every endpoint that changes state is "+
				"disabled; set server.token: {file: /path} and restart lifeboat serve")
			return
		}
		if !a.tokenOK(bearer(r)) {
			unauthorized(w)
			return
		}
		h(w, r)
	}
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="lifeboat"`)
	writeError(w, http.StatusUnauthorized, "missing or wrong bearer token: send \"Authorization: Bearer <server.token>\"")
}

// The web page cannot send a bearer header without JavaScript. Viewing it (read-only)
// uses a session cookie set by a token login: "<unix expiry>.<random id>.<HMAC-SHA256(key,
// expiry, id)>" with key = HMAC-SHA256(token, "lifeboat session" + a per-process nonce),
// so it expires, dies with a token rotation or a restart, can be revoked one by one (the
// id tells two sign-ins of the same second apart) or all at once (sessions.go), and
// reveals nothing about the token. Every
// state change from the page still needs the token itself in the form, which also makes
// the forms safe against cross-site request forgery.
const (
	sessionCookie = "lifeboat_session"
	sessionTTL    = 12 * time.Hour
)

func (a auth) sessionValue(expiry int64, id string) string {
	mac := hmac.New(sha256.New, a.sessionKey)
	mac.Write([]byte("lifeboat web session v2 " + strconv.FormatInt(expiry, 10) + " " + id))
	return strconv.FormatInt(expiry, 10) + "." + id + "." + hex.EncodeToString(mac.Sum(nil))
}

// newSession is the cookie for a sign-in over r: Secure when r came over TLS, or always
// with --secure-cookie (plain HTTP behind a proxy that terminates TLS).
func (a auth) newSession(r *http.Request) *http.Cookie {
	exp := a.clock.Now().Add(sessionTTL)
	return &http.Cookie{
		Name: sessionCookie, Value: a.sessionValue(exp.Unix(), hex.EncodeToString(newSessionNonce()[:12])), Path: "/", Expires: exp,
		HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode,
	}
}

// endSession is the cookie that deletes the session.
func (a auth) endSession(r *http.Request) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode}
}

func (a auth) secure(r *http.Request) bool { return a.secureCookie || r.TLS != nil }

func (a auth) sessionOK(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	if err != nil || a.token == "" || len(a.sessionKey) == 0 {
		return false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return false
	}
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || a.clock.Now().Unix() > n {
		return false
	}
	return hmac.Equal([]byte(c.Value), []byte(a.sessionValue(n, parts[1]))) && !a.revoked.refused(c.Value, n)
}

// pageViewable reports whether r may see the page.
func (a auth) pageViewable(r *http.Request) bool {
	return a.openReadOnly || a.token == "" || a.sessionOK(r) || a.tokenOK(bearer(r))
}
