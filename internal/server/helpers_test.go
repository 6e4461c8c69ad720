package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source/sourcetest"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault/vaulttest"
)

const testToken = "s3cret-token-for-tests"

var start = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)

// env is a server over real file destinations, with a fake source in place of Vault or
// PostgreSQL (those are exercised end to end in test/e2e). The run pipeline, stores and
// catalog are the real ones.
type env struct {
	t     *testing.T
	dir   string
	clock *clocktest.Clock
	srv   *Server
	ts    *httptest.Server
	gate  chan struct{} // when non-nil, source reads block until it is closed
	hist  history.Store
	cfg   *config.Config
	app   *app.App
	opts  Options
}

// defaultServer is the config's server block unless a test passes its own; TOKEN stands
// for the token file's path.
const defaultServer = "server: {token: {file: TOKEN}}"

// newEnv prepares a server; extraYAML (default defaultServer) is appended to the config
// and options may change the Options before start.
func newEnv(t *testing.T, extraYAML string, options ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: clocktest.New(start)}
	tokenFile := filepath.Join(e.dir, "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if extraYAML == "" {
		extraYAML = defaultServer
	}
	cfg := e.parse(strings.ReplaceAll(extraYAML, "TOKEN", tokenFile))
	e.opts = Options{
		App:           &app.App{Config: cfg, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Clock:         e.clock,
		Token:         testToken,
		ShutdownGrace: time.Minute,
	}
	for _, o := range options {
		o(&e.opts)
	}
	e.app, e.cfg = e.opts.App, e.opts.App.Config
	if e.opts.History == nil {
		e.opts.History = history.NewMemory(e.cfg.Server.HistoryLimit)
	}
	e.hist = e.opts.History
	e.opts.Backup = e.backup
	return e
}

func (e *env) parse(extra string) *config.Config {
	e.t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
sources:
  - name: vault
    kind: vault
    schedule: "0 * * * *"
    vault: {address: "http://127.0.0.1:1"}
  - name: workflows
    kind: postgres
    postgres: {host: 127.0.0.1, database: workflows}
destinations:
  - name: local
    kind: file
    file: {path: %s}
  - name: second
    kind: file
    file: {path: %s}
%s`, filepath.Join(e.dir, "local"), filepath.Join(e.dir, "second"), extra)))
	if err != nil {
		e.t.Fatal(err)
	}
	return cfg
}

// start builds the server, starts it and serves its handler.
func (e *env) start() *env {
	e.t.Helper()
	srv, err := New(e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	if err := srv.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.ts = httptest.NewServer(srv.Handler())
	e.t.Cleanup(func() {
		e.ts.Close()
		e.release()
		srv.Shutdown(context.Background())
	})
	return e
}

func (e *env) release() {
	if e.gate != nil {
		select {
		case <-e.gate:
		default:
			close(e.gate)
		}
	}
}

func (e *env) backup(ctx context.Context, name string, only []string, id string) (*pipeline.Result, error) {
	src, err := e.cfg.Source(name)
	if err != nil {
		return nil, err
	}
	dests, err := e.app.Destinations(name, only, true)
	if err != nil {
		return nil, err
	}
	p := &pipeline.Pipeline{Clock: fakeNow{e.clock}, Logger: e.app.Logger, BackupID: id}
	fake := sourcetest.New(name, src.Kind, snapshot)
	fake.Gate = e.gate
	return p.Run(ctx, fake, dests), nil
}

var snapshot = vaulttest.Snapshot()

// fakeNow gives runs the test's time but real stall timers: the tests count and fire the
// schedule's timers, and a run held at its gate must not add its own to them.
type fakeNow struct{ *clocktest.Clock }

func (fakeNow) Timer(d time.Duration) (<-chan time.Time, func() bool) { return clock.Real.Timer(d) }
func (fakeNow) AfterFunc(d time.Duration, f func()) func() bool       { return clock.Real.AfterFunc(d, f) }

// do sends a request with the token ("" for none) and decodes a JSON answer into out.
func (e *env) do(method, path, token string, body io.Reader, out any) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	if s, ok := out.(*string); ok {
		*s = string(data)
	}
	return resp
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// trigger starts a backup over the API and returns its run.
func (e *env) trigger(source string) history.Run {
	e.t.Helper()
	var r history.Run
	if resp := e.do("POST", "/api/v1/sources/"+source+"/backup", testToken, nil, &r); resp.StatusCode != http.StatusAccepted {
		e.t.Fatalf("trigger %s: %s", source, resp.Status)
	}
	return r
}

// wait polls the history until the run has finished.
func (e *env) wait(id string) history.Run {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r, err := e.hist.Get(context.Background(), id)
		if err == nil && !r.Running() {
			if _, busy := e.srv.Running(r.Source); !busy {
				return r
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("run %s did not finish", id)
	return history.Run{}
}

// runs waits until the history holds n finished runs of source and returns them.
func (e *env) runs(source string, n int) []history.Run {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runs, _ := e.hist.List(context.Background(), source, 0)
		done := 0
		for _, r := range runs {
			if !r.Running() {
				done++
			}
		}
		if done >= n {
			return runs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("want %d finished runs of %s, have %+v", n, source, runs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const time1h = time.Hour

func runningRecord(id string) history.Run {
	src, t0, _ := catalog.ParseBackupID(id)
	return history.Run{ID: id, Source: src, Trigger: history.TriggerSchedule, Started: t0, Status: history.StatusRunning}
}
