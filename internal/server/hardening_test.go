package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
)

// hreq sends one request with optional headers ("Host" sets the Host header) and
// cookies, without following redirects.
func (e *env) hreq(method, path string, form url.Values, headers map[string]string, cookies ...*http.Cookie) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func (e *env) signIn() *http.Cookie {
	e.t.Helper()
	resp, body := e.hreq("POST", "/ui/login", url.Values{"token": {testToken}}, nil)
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return c
		}
	}
	e.t.Fatalf("sign-in: %s, no session cookie: %s", resp.Status, body)
	return nil
}

func TestWrongTokensAreRateLimited(t *testing.T) {
	e := newEnv(t, "", func(o *Options) { o.Baseline = false }).start()
	wrongForm := url.Values{"token": {"wrong-token-guess"}}
	wrongBearer := map[string]string{"Authorization": "Bearer wrong-token-guess"}
	// Requests without a credential are not guesses: they never use the budget up.
	for range 2 * failBurst {
		if resp, _ := e.hreq("GET", "/api/v1/status", nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status without a token: %s", resp.Status)
		}
	}
	for i := range failBurst {
		var resp *http.Response
		if i%2 == 0 {
			resp, _ = e.hreq("POST", "/ui/login", wrongForm, nil)
		} else {
			resp, _ = e.hreq("GET", "/api/v1/status", nil, wrongBearer)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token #%d: %s, want 401", i+1, resp.Status)
		}
	}
	// The budget is spent: even the right token waits, so guessing gains nothing.
	for _, try := range []func() (*http.Response, string){
		func() (*http.Response, string) { return e.hreq("POST", "/ui/login", wrongForm, nil) },
		func() (*http.Response, string) {
			return e.hreq("POST", "/ui/login", url.Values{"token": {testToken}}, nil)
		},
		func() (*http.Response, string) {
			return e.hreq("GET", "/api/v1/status", nil, map[string]string{"Authorization": "Bearer " + testToken})
		},
	} {
		resp, body := try()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "10" || !strings.Contains(body, "try again in 10s") {
			t.Fatalf("after %d wrong tokens: %s Retry-After=%q %s, want 429 with Retry-After 10", failBurst, resp.Status, resp.Header.Get("Retry-After"), body)
		}
	}
	if resp, _ := e.hreq("GET", "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz while limited: %s", resp.Status)
	}
	e.clock.Advance(failRefill / 2)
	if resp, _ := e.hreq("POST", "/ui/login", url.Values{"token": {testToken}}, nil); resp.Header.Get("Retry-After") != "5" {
		t.Fatalf("half a refill later: %s Retry-After=%q, want 5", resp.Status, resp.Header.Get("Retry-After"))
	}
	// One refill: one more attempt, and a right token is not counted against the client.
	e.clock.Advance(failRefill / 2)
	e.signIn()
	if resp, _ := e.hreq("GET", "/api/v1/status", nil, map[string]string{"Authorization": "Bearer " + testToken}); resp.StatusCode != http.StatusOK {
		t.Fatalf("right token after a refill: %s", resp.Status)
	}
	if resp, _ := e.hreq("POST", "/ui/login", wrongForm, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("one wrong token after a refill: %s, want 401", resp.Status)
	}
	if resp, _ := e.hreq("POST", "/ui/login", wrongForm, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second wrong token after one refill: %s, want 429", resp.Status)
	}
}

func TestFailureLimiterForgetsRefilledClients(t *testing.T) {
	clk := clocktest.New(start)
	l := newFailureLimiter(clk)
	for i := range maxTracked {
		l.fail("2001:db8::" + strconv.FormatInt(int64(i), 16))
	}
	if len(l.buckets) != maxTracked {
		t.Fatalf("%d clients tracked, want %d", len(l.buckets), maxTracked)
	}
	l.fail("2001:db8::ffff") // a flood: still bounded
	if len(l.buckets) != maxTracked {
		t.Fatalf("%d clients tracked after a flood, want at most %d", len(l.buckets), maxTracked)
	}
	clk.Advance(failBurst * failRefill)
	l.fail("192.0.2.1")
	if len(l.buckets) != 1 {
		t.Fatalf("%d clients tracked after every bucket refilled, want 1", len(l.buckets))
	}
}

func TestSessionsAreRevocable(t *testing.T) {
	e := newEnv(t, "", func(o *Options) { o.Baseline = false }).start()
	viewable := func(c *http.Cookie) bool {
		resp, _ := e.hreq("GET", "/", nil, nil, c)
		return resp.StatusCode == http.StatusOK
	}

	// Signing out revokes the session server-side: a copy of the cookie stops working.
	first := e.signIn()
	if !viewable(first) {
		t.Fatal("a fresh session cannot see the page")
	}
	if resp, _ := e.hreq("POST", "/ui/logout", url.Values{}, nil, first); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", resp.Status)
	}
	if viewable(first) {
		t.Fatal("the cookie of a signed-out session still shows the page")
	}

	// Revoking every session over the API ends them all, and needs the token.
	a, b := e.signIn(), e.signIn()
	if resp, _ := e.hreq("POST", "/api/v1/sessions/revoke", nil, nil, a); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoke with a session cookie instead of the token: %s, want 401", resp.Status)
	}
	if !viewable(a) || !viewable(b) {
		t.Fatal("a refused revoke ended sessions")
	}
	var got map[string]string
	if resp := e.do("POST", "/api/v1/sessions/revoke", testToken, nil, &got); resp.StatusCode != http.StatusOK || got["revokedBefore"] != start.Format(time.RFC3339) {
		t.Fatalf("revoke: %s %v", resp.Status, got)
	}
	if viewable(a) || viewable(b) {
		t.Fatal("sessions signed in before the revoke still show the page")
	}
	e.clock.Advance(time.Second)
	later := e.signIn()
	if !viewable(later) {
		t.Fatal("a session signed in after the revoke cannot see the page")
	}

	// A restarted server (same token) signs everyone out: revocations live in memory.
	restarted, err := New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(later)
	rec := httptest.NewRecorder()
	restarted.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("a session of the previous process on a restarted server: %d, want 401", rec.Code)
	}
}

func TestTokenlessServerAnswersOnlyLoopbackNames(t *testing.T) {
	e := newEnv(t, "server: {listen: '127.0.0.1:0'}", func(o *Options) { o.Token, o.Baseline = "", false }).start()
	port := e.ts.URL[strings.LastIndex(e.ts.URL, ":"):]
	for _, tc := range []struct {
		host, path string
		code       int
	}{
		{"127.0.0.1" + port, "/api/v1/status", http.StatusOK},
		{"localhost" + port, "/api/v1/status", http.StatusOK},
		{"LOCALHOST.", "/", http.StatusOK},
		{"[::1]" + port, "/api/v1/backups", http.StatusOK},
		{"rebind.attacker.example" + port, "/api/v1/status", http.StatusMisdirectedRequest},
		{"rebind.attacker.example" + port, "/", http.StatusMisdirectedRequest},
		{"rebind.attacker.example" + port, "/metrics", http.StatusMisdirectedRequest},
		{"127.0.0.1.nip.example" + port, "/api/v1/status", http.StatusMisdirectedRequest},
		{"10.0.0.5" + port, "/api/v1/status", http.StatusMisdirectedRequest},
		{"rebind.attacker.example" + port, "/healthz", http.StatusOK},
	} {
		resp, body := e.hreq("GET", tc.path, nil, map[string]string{"Host": tc.host})
		if resp.StatusCode != tc.code {
			t.Errorf("GET %s with Host %s: %s, want %d (%s)", tc.path, tc.host, resp.Status, tc.code, body)
		}
		if tc.code == http.StatusMisdirectedRequest && !strings.Contains(body, "DNS-rebinding") {
			t.Errorf("refusal does not say why: %s", body)
		}
	}

	// With a token, other names are served (the token is the protection).
	withToken := newEnv(t, "", func(o *Options) { o.Baseline = false }).start()
	resp, _ := withToken.hreq("GET", "/api/v1/status", nil, map[string]string{"Host": "lifeboat.example.org", "Authorization": "Bearer " + testToken})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Host check applied with a token: %s", resp.Status)
	}
}

// The backup listing comes from the cache the server refreshes after runs: a change made
// behind its back shows only after a refresh, or with ?fresh=true (token holders only).
func TestBackupsListedFromTheCache(t *testing.T) {
	e := newEnv(t, "server: {token: {file: TOKEN}, openReadOnly: true}", func(o *Options) { o.Baseline = false }).start()
	run := e.trigger("workflows")
	e.wait(run.ID)
	list := func(query, token string) (int, api.BackupsResponse) {
		var resp api.BackupsResponse
		r := e.do("GET", "/api/v1/backups?"+query, token, nil, &resp)
		return r.StatusCode, resp
	}
	code, got := list("source=workflows", "")
	if code != http.StatusOK || len(got.Listings) != 2 || len(got.Listings[0].Backups) != 1 || got.Listings[0].Backups[0].ID != run.ID {
		t.Fatalf("cached listing after the run: %d %+v", code, got)
	}
	if at := got.Listings[0].ListedAt; at == nil || !at.Equal(start) {
		t.Fatalf("listedAt = %v, want %s", at, start)
	}

	// Uncommit the backup in destination local behind the server's back.
	manifests, _ := filepath.Glob(filepath.Join(e.dir, "local", "workflows", run.ID, "manifest.json"))
	if len(manifests) != 1 {
		t.Fatalf("manifest of %s in local: %v", run.ID, manifests)
	}
	if err := os.Remove(manifests[0]); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, got = list("source=workflows&destination=local", ""); len(got.Listings) != 1 || len(got.Listings[0].Backups) != 1 {
		t.Fatalf("cached listing of local: %+v, want the cached backup still", got)
	}
	if code, _ := list("source=workflows&fresh=true", ""); code != http.StatusForbidden {
		t.Fatalf("fresh listing without the token: %d, want 403", code)
	}
	code, got = list("source=workflows&destination=local&fresh=true", testToken)
	if code != http.StatusOK || len(got.Listings) != 1 || got.Listings[0].Destination != "local" || len(got.Listings[0].Backups) != 0 {
		t.Fatalf("fresh listing of local: %d %+v, want no backup", code, got)
	}
	if at := got.Listings[0].ListedAt; at == nil || !at.Equal(start.Add(time.Minute)) {
		t.Fatalf("fresh listedAt = %v", at)
	}
	// The fresh listing updated the cache for everyone.
	if _, got = list("source=workflows", ""); len(got.Listings[0].Backups)+len(got.Listings[1].Backups) != 1 {
		t.Fatalf("cache after a fresh listing: %+v", got)
	}
	if code, _ := list("source=nope", ""); code != http.StatusNotFound {
		t.Fatalf("unknown source: %d", code)
	}
	if code, _ := list("source=workflows&destination=nope", ""); code != http.StatusNotFound {
		t.Fatalf("unknown destination: %d", code)
	}
}
