package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/history"
)

func (e *env) form(path string, values url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return e.send(req)
}

func (e *env) get(path string, cookies ...*http.Cookie) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func sessionFrom(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Fatalf("session cookie without HttpOnly/SameSite=Strict: %+v", c)
			}
			return c
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
	return nil
}

func TestPageLoginAndBackUpNow(t *testing.T) {
	e := newEnv(t, "").start()
	resp, body := e.get("/")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `action="/ui/login"`) || strings.Contains(body, "workflows") {
		t.Fatalf("page without a session: %s\n%s", resp.Status, body)
	}
	if resp, _ := e.form("/ui/login", url.Values{"token": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong token: %s", resp.Status)
	}
	resp, _ = e.form("/ui/login", url.Values{"token": {testToken}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", resp.Status)
	}
	session := sessionFrom(t, resp)
	if strings.Contains(session.Value, testToken) {
		t.Fatal("the session cookie carries the token")
	}
	resp, body = e.get("/", session)
	if resp.StatusCode != 200 || !strings.Contains(body, "Backup &amp; Restore") || !strings.Contains(body, `id="source-workflows"`) ||
		!strings.Contains(body, "never") || !strings.Contains(body, "Back up now") {
		t.Fatalf("page with a session: %s\n%s", resp.Status, body)
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("security headers: %v", resp.Header)
	}

	// The session alone does not start a backup: the form needs the token.
	if resp, _ := e.form("/ui/sources/workflows/backup", url.Values{"token": {""}}, session); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("back up now without the token: %s", resp.Status)
	}
	resp, _ = e.form("/ui/sources/workflows/backup", url.Values{"token": {testToken}}, session)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("started") == "" {
		t.Fatalf("back up now: %s %s", resp.Status, loc)
	}
	id := loc.Query().Get("started")
	run := e.wait(id)
	if run.Trigger != history.TriggerAPI || run.Status != "ok" {
		t.Fatalf("run from the page: %+v", run)
	}
	_, body = e.get(loc.String(), session)
	if !strings.Contains(body, "Backup "+id+" started.") || !strings.Contains(body, `data-run="`+id+`"`) ||
		!strings.Contains(body, "lifeboat restore workflows --dump "+id) || !strings.Contains(body, "up to date") {
		t.Fatalf("page after back up now:\n%s", body)
	}
	// The hint is the command for the source's kind (cmd/lifeboat runs it through the CLI
	// parser): a postgres source is restored with --dump, never --snapshot.
	if strings.Contains(body, "restore workflows --snapshot") {
		t.Errorf("the page tells to restore a postgres source with --snapshot:\n%s", body)
	}
	// The page lists the run without a session only when it is opened read-only.
	if resp, _ := e.get("/"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("page without a session after login: %s", resp.Status)
	}
}

func TestPageBusyAndEscaping(t *testing.T) {
	e := newEnv(t, "server: {token: {file: TOKEN}, openReadOnly: true}")
	e.gate = make(chan struct{})
	e.start()
	bad := runningRecord("vault-20261123T090000Z-abcd")
	bad.Status, bad.Error = "failed", `<script>alert("x")</script>`
	_ = e.hist.Put(context.Background(), bad)

	first := e.trigger("workflows")
	resp, _ := e.form("/ui/sources/workflows/backup", url.Values{"token": {testToken}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("busy") != first.ID {
		t.Fatalf("back up now while running: %s %s", resp.Status, loc)
	}
	resp, body := e.get(loc.String())
	if resp.StatusCode != 200 || !strings.Contains(body, "already running ("+first.ID+")") || !strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatalf("busy page:\n%s", body)
	}
	// Only the viewer following a run gets reloads; a plain view never reloads itself (a
	// reload would wipe a token being typed).
	if _, plain := e.get("/"); strings.Contains(plain, `http-equiv="refresh"`) || !strings.Contains(plain, first.ID) {
		t.Fatalf("plain page while a run is going:\n%s", plain)
	}
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("the error text is not escaped:\n%s", body)
	}
	// A flash only ever shows a well-formed id.
	if _, body := e.get("/?started=" + url.QueryEscape("<b>hi</b>")); strings.Contains(body, "hi</b>") || strings.Contains(body, "started.") {
		t.Fatal("a crafted flash is shown")
	}
	e.release()
	e.wait(first.ID)
}

// The session cookie is signed with a key derived from the token (and the process's
// nonce), not the token itself: a cookie signed with the token as the key is refused.
func TestSessionKeyIsDerivedFromTheToken(t *testing.T) {
	e := newEnv(t, "").start()
	resp, _ := e.form("/ui/login", url.Values{"token": {testToken}})
	session := sessionFrom(t, resp)
	parts := strings.Split(session.Value, ".")
	if len(parts) != 3 {
		t.Fatalf("session cookie %q, want <expiry>.<id>.<mac>", session.Value)
	}
	exp, _ := strconv.ParseInt(parts[0], 10, 64)
	if bytes.Equal(e.srv.sessionKey, []byte(testToken)) || bytes.Equal(e.srv.sessionKey, sessionKeyFor(testToken, nil)) {
		t.Fatal("the session key is the token, or lacks the per-process nonce")
	}
	forged := &http.Cookie{Name: sessionCookie, Value: auth{sessionKey: []byte(testToken)}.sessionValue(exp, parts[1])}
	if resp, _ := e.get("/", forged); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a cookie signed with the token itself opened the page: %s", resp.Status)
	}
	if resp, _ := e.get("/", session); resp.StatusCode != http.StatusOK {
		t.Fatalf("the real session: %s", resp.Status)
	}
}

// Secure is set over TLS, and on plain HTTP only with SecureCookie (a TLS-terminating
// proxy in front); sign-in and sign-out cookies alike.
func TestSessionCookieSecure(t *testing.T) {
	for _, c := range []struct {
		name   string
		secure bool
	}{
		{"plain HTTP", false},
		{"behind a TLS proxy (SecureCookie)", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "", func(o *Options) { o.SecureCookie = c.secure }).start()
			resp, _ := e.form("/ui/login", url.Values{"token": {testToken}})
			if got := sessionFrom(t, resp).Secure; got != c.secure {
				t.Errorf("sign-in cookie Secure = %v, want %v", got, c.secure)
			}
			resp, _ = e.form("/ui/logout", nil)
			for _, ck := range resp.Cookies() {
				if ck.Name == sessionCookie && ck.Secure != c.secure {
					t.Errorf("sign-out cookie Secure = %v, want %v", ck.Secure, c.secure)
				}
			}
		})
	}
}

func TestShortTokenRefused(t *testing.T) {
	for _, c := range []struct {
		token string
		ok    bool
	}{
		{"", true}, // no token: read-only on loopback
		{"short", false},
		{strings.Repeat("x", MinTokenLen-1), false},
		{strings.Repeat("x", MinTokenLen), true},
	} {
		e := newEnv(t, "", func(o *Options) { o.Token = c.token })
		_, err := New(e.opts)
		if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), "at least 16")) {
			t.Errorf("token of %d bytes: %v", len(c.token), err)
		}
	}
}
