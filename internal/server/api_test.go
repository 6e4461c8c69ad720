package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/history"
)

func TestAuthMatrix(t *testing.T) {
	endpoints := []struct {
		method, path string
		write        bool
	}{
		{"GET", "/api/v1/status", false},
		{"GET", "/api/v1/runs", false},
		{"GET", "/api/v1/runs/vault-20261123T103000Z-abcd", false},
		{"GET", "/api/v1/backups", false},
		{"GET", "/metrics", false},
		{"POST", "/api/v1/sources/workflows/backup", true},
		{"POST", "/api/v1/backups/latest/verify?source=workflows", true},
	}
	for _, mode := range []struct {
		name, yaml   string
		openReadOnly bool
	}{
		{"closed", defaultServer, false},
		{"openReadOnly", "server: {token: {file: TOKEN}, openReadOnly: true}", true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			e := newEnv(t, mode.yaml, func(o *Options) { o.Baseline = false }).start()
			for _, ep := range endpoints {
				for _, tok := range []string{"", "wrong-token", testToken} {
					resp := e.do(ep.method, ep.path, tok, nil, nil)
					allowed := tok == testToken || (!ep.write && mode.openReadOnly)
					if allowed && resp.StatusCode == http.StatusUnauthorized {
						t.Errorf("%s %s with token %q: 401, want access", ep.method, ep.path, tok)
					}
					if !allowed && resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("%s %s with token %q: %s, want 401", ep.method, ep.path, tok, resp.Status)
					}
					if !allowed && resp.Header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s %s: a 401 without WWW-Authenticate", ep.method, ep.path)
					}
				}
				if id, ok := e.srv.Running("workflows"); ok {
					e.wait(id)
				}
			}
			for _, open := range []string{"/healthz", "/readyz"} {
				if resp := e.do("GET", open, "", nil, nil); resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s without token: %s", open, resp.Status)
				}
			}
		})
	}
}

func TestNoTokenDisablesWrites(t *testing.T) {
	e := newEnv(t, "server: {listen: '127.0.0.1:0'}", func(o *Options) { o.Token = "" }).start()
	var msg api.Error
	if resp := e.do("POST", "/api/v1/sources/vault/backup", "anything", nil, &msg); resp.StatusCode != http.StatusForbidden || !strings.Contains(msg.Error, "server.token") {
		t.Fatalf("trigger without a configured token: %s %+v", resp.Status, msg)
	}
	if resp := e.do("GET", "/api/v1/status", "", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("read-only on loopback without a token: %s", resp.Status)
	}
}

func TestTriggerConflictAndResult(t *testing.T) {
	e := newEnv(t, "")
	e.gate = make(chan struct{})
	e.start()
	first := e.trigger("workflows")
	if first.Status != history.StatusRunning || first.Trigger != history.TriggerAPI || !strings.HasPrefix(first.ID, "workflows-") {
		t.Fatalf("202 body: %+v", first)
	}
	var conflict api.Error
	if resp := e.do("POST", "/api/v1/sources/workflows/backup", testToken, nil, &conflict); resp.StatusCode != http.StatusConflict || conflict.RunningID != first.ID {
		t.Fatalf("second trigger while running: %s %+v", resp.Status, conflict)
	}
	// Another source is independent.
	other := e.trigger("vault")
	e.release()
	got := e.wait(first.ID)
	e.wait(other.ID)
	if got.Status != "ok" || len(got.Destinations) != 2 || got.SHA256 == "" || got.Size == 0 {
		t.Fatalf("finished run: %+v", got)
	}
	var fetched history.Run
	if resp := e.do("GET", "/api/v1/runs/"+first.ID, testToken, nil, &fetched); resp.StatusCode != 200 || fetched.ID != first.ID || fetched.Status != "ok" {
		t.Fatalf("GET run: %s %+v", resp.Status, fetched)
	}
	// The run id is the backup id in every destination.
	var listing api.BackupsResponse
	e.do("GET", "/api/v1/backups?source=workflows", testToken, nil, &listing)
	if len(listing.Listings) != 2 || len(listing.Listings[0].Backups) != 1 || listing.Listings[0].Backups[0].ID != first.ID {
		t.Fatalf("backups: %+v", listing)
	}
	e.trigger("workflows") // free again
}

func TestTriggerErrors(t *testing.T) {
	e := newEnv(t, "").start()
	for _, c := range []struct {
		path, body string
		code       int
		want       string // in the error
	}{
		{"/api/v1/sources/nope/backup", "", http.StatusNotFound, "nope"},
		{"/api/v1/sources/vault/backup", `{"destinations": ["elsewhere"]}`, http.StatusBadRequest, "elsewhere"},
		{"/api/v1/sources/vault/backup", `not json`, http.StatusBadRequest, "the body must be empty or JSON"},
		// A typo must not back up to every destination.
		{"/api/v1/sources/vault/backup", `{"destination": ["second"]}`, http.StatusBadRequest, `unknown field "destination"`},
		{"/api/v1/sources/vault/backup", `{"destinations": ["second"]} {"destinations": ["local"]}`, http.StatusBadRequest, "more than one JSON value"},
	} {
		var msg api.Error
		if resp := e.do("POST", c.path, testToken, strings.NewReader(c.body), &msg); resp.StatusCode != c.code || !strings.Contains(msg.Error, c.want) {
			t.Errorf("POST %s %q: %s %+v, want %d with %q", c.path, c.body, resp.Status, msg, c.code, c.want)
		}
	}
	if runs, _ := e.hist.List(context.Background(), "", 0); len(runs) != 0 {
		t.Fatalf("a refused trigger started a run: %+v", runs)
	}
	if resp := e.do("GET", "/api/v1/runs/nope", testToken, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown run: %s", resp.Status)
	}
	// A run to one destination only.
	var r history.Run
	e.do("POST", "/api/v1/sources/vault/backup", testToken, strings.NewReader(`{"destinations": ["second"]}`), &r)
	if got := e.wait(r.ID); got.Status != "ok" || len(got.Destinations) != 1 || got.Destinations[0].Name != "second" {
		t.Fatalf("run to one destination: %+v", got)
	}
}

func TestHistoryCapOverAPI(t *testing.T) {
	e := newEnv(t, "server: {token: {file: TOKEN}, historyLimit: 3}").start()
	for range 5 {
		e.wait(e.trigger("workflows").ID)
		e.clock.Advance(time.Minute) // runs are ordered by start time
	}
	var runs api.RunsResponse
	e.do("GET", "/api/v1/runs?source=workflows", testToken, nil, &runs)
	if len(runs.Runs) != 3 {
		t.Fatalf("historyLimit 3 kept %d runs", len(runs.Runs))
	}
	e.do("GET", "/api/v1/runs?limit=2", testToken, nil, &runs)
	if len(runs.Runs) != 2 {
		t.Fatalf("limit=2 returned %d runs", len(runs.Runs))
	}
	if resp := e.do("GET", "/api/v1/runs?limit=0", testToken, nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("limit=0: %s", resp.Status)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t, "").start()
	e.wait(e.trigger("workflows").ID)
	var body string
	e.do("GET", "/metrics", testToken, nil, &body)
	for _, want := range []string{
		`lifeboat_backup_last_success_timestamp_seconds{source="workflows"}`,
		`lifeboat_backup_last_attempt_timestamp_seconds{source="workflows"}`,
		`lifeboat_backup_duration_seconds{source="workflows"}`,
		`lifeboat_backup_size_bytes{source="workflows"}`,
		`lifeboat_backup_failures_total{destination="second",source="workflows"} 0`,
		`lifeboat_backup_runs_total{source="workflows",status="ok"} 1`,
		`lifeboat_destination_last_success_timestamp_seconds{destination="local",source="workflows"}`,
		`lifeboat_backups_stored{destination="local",source="workflows"} 1`,
		`lifeboat_backup_failures_total{destination="local",source="vault"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestVerifyEndpoint(t *testing.T) {
	e := newEnv(t, "").start()
	id := e.wait(e.trigger("vault").ID).ID
	var v api.VerifyResponse
	if resp := e.do("POST", "/api/v1/backups/"+id+"/verify", testToken, nil, &v); resp.StatusCode != 200 || !v.OK || len(v.Copies) != 2 {
		t.Fatalf("verify: %s %+v", resp.Status, v)
	}
	// Damage one copy (same size, other bytes): that copy fails, the other verifies.
	data, _ := filepath.Glob(filepath.Join(e.dir, "second", "vault", id, "data.*"))
	if len(data) != 1 {
		t.Fatalf("data objects: %v", data)
	}
	damage(t, data[0])
	e.do("POST", "/api/v1/backups/latest/verify?source=vault", testToken, nil, &v)
	if v.OK || v.ID != id || !v.Copies[0].OK || v.Copies[1].OK || v.Copies[1].Error == "" {
		t.Fatalf("verify with a damaged copy: %+v", v)
	}
	if resp := e.do("POST", "/api/v1/backups/vault-20200101T000000Z-abcd/verify", testToken, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("verify of a missing backup: %s", resp.Status)
	}
	if resp := e.do("POST", "/api/v1/backups/latest/verify", testToken, nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("verify latest without a source (two configured): %s", resp.Status)
	}
	// A destination that cannot be listed may hold the only good copy: the good copy
	// elsewhere verifies, but the answer is not OK and names that destination.
	second := filepath.Join(e.dir, "second")
	if err := os.Rename(second, second+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	v = api.VerifyResponse{}
	e.do("POST", "/api/v1/backups/latest/verify?source=vault", testToken, nil, &v)
	if v.OK || len(v.Copies) != 1 || !v.Copies[0].OK || len(v.Unlisted) != 1 || !strings.Contains(v.Unlisted[0], "second") {
		t.Fatalf("verify with an unlistable destination: %+v", v)
	}
}

func TestStatusEndpoint(t *testing.T) {
	e := newEnv(t, "").start()
	e.clock.BlockUntil(t, 2) // vault's schedule and the refresher
	var st api.StatusResponse
	e.do("GET", "/api/v1/status", testToken, nil, &st)
	if len(st.Sources) != 2 || st.Sources[0].Health != HealthNever || st.Sources[0].IntervalSeconds != 3600 ||
		st.Sources[0].NextScheduled == nil || !st.Sources[0].NextScheduled.Equal(start.Truncate(time1h).Add(time1h)) {
		t.Fatalf("status before any backup: %+v", st.Sources)
	}
	r := e.wait(e.trigger("vault").ID)
	e.do("GET", "/api/v1/status", testToken, nil, &st)
	v := st.Sources[0]
	if v.Health != HealthOK || v.LatestBackup == nil || v.LatestBackup.ID != r.ID || v.LastSuccess == nil ||
		v.LastAttempt == nil || v.RPOAgeSeconds == nil || len(v.Destinations) != 2 || v.Destinations[1].Latest == nil {
		t.Fatalf("status after a backup: %+v", v)
	}
	if _, err := e.hist.Get(context.Background(), r.ID); err != nil {
		t.Fatal(err)
	}
}

func damage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
