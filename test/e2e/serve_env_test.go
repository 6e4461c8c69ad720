package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// serveSetup is a vaultSetup whose config also runs `lifeboat serve` (and, after
// addWorkflows, backs up a PostgreSQL database too).
type serveSetup struct {
	*vaultSetup
	base    string // http://127.0.0.1:port
	token   string
	history string
}

const serveToken = "e2e-serve-token-0123456789"

// newServeSetup makes the config with a server block and, when schedule is set, a cron
// schedule on the vault source, backed by OpenBao.
func newServeSetup(t *testing.T, schedule string) *serveSetup {
	t.Helper()
	return newServeSetupOn(t, testenv.OpenBao, schedule)
}

// newServeSetupOn is newServeSetup against the given server flavour.
func newServeSetupOn(t *testing.T, flavor testenv.Flavor, schedule string) *serveSetup {
	t.Helper()
	dir := t.TempDir()
	s := &serveSetup{vaultSetup: newVaultSetup(t, flavor, ""), token: serveToken, history: filepath.Join(dir, "history", "runs.db")}
	tokenFile := writeFile(t, filepath.Join(dir, "server-token"), serveToken+"\n")
	// The port is picked after Vault and MinIO took theirs.
	port := testenv.FreePort(t)
	s.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data) + fmt.Sprintf("server:\n  listen: 127.0.0.1:%d\n  token: {file: %s}\n  historyPath: %s\n", port, tokenFile, s.history)
	if schedule != "" {
		cfg = strings.Replace(cfg, "    kind: vault\n", fmt.Sprintf("    kind: vault\n    schedule: %q\n", schedule), 1)
	}
	writeFile(t, s.config, cfg)
	return s
}

// addWorkflows starts a real PostgreSQL with an Argo-like database and adds it to the
// config as source "workflows" (after vault, so vault stays the page's first source).
func (s *serveSetup) addWorkflows(t *testing.T, schedule string) *testenv.Postgres {
	t.Helper()
	pg := testenv.StartPostgres(t)
	pg.CreateArgo("argo", 17, 500)
	pw := writeFile(t, filepath.Join(t.TempDir(), "pg-password"), pg.Password+"\n")
	src := fmt.Sprintf(`  - name: workflows
    kind: postgres
    schedule: %q
    postgres: {host: %s, port: %d, database: argo, user: %s, password: {file: %s}, sslMode: disable, binDir: %s}
destinations:
`, schedule, pg.Host, pg.Port, pg.User, pw, pg.BinDir)
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.config, strings.Replace(string(data), "destinations:\n", src, 1))
	return pg
}

// serve starts `lifeboat serve` and waits until it is ready.
func (s *serveSetup) serve(t *testing.T, args ...string) *testenv.Process {
	t.Helper()
	argv := append([]string{lifeboatBin, "--config", s.config, "--log-format", "text", "serve"}, args...)
	p := testenv.StartProcess(t, "lifeboat-serve", t.TempDir(), s.env, argv...)
	testenv.WaitFor(t, p, 30*time.Second, "lifeboat serve /readyz", testenv.HTTPStatusOK(http.DefaultClient, s.base+"/readyz"))
	return p
}

// api calls the server with token ("" for none) and decodes a JSON answer into out.
func (s *serveSetup) api(t *testing.T, method, path, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if sp, ok := out.(*string); ok {
			*sp = string(data)
		} else if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	if out != nil && resp.StatusCode == http.StatusConflict {
		_ = json.NewDecoder(bytes.NewReader(data)).Decode(out)
	}
	return resp.StatusCode
}

// waitRun polls the history until a finished run matches, and returns it.
func (s *serveSetup) waitRun(t *testing.T, p *testenv.Process, timeout time.Duration, what string, match func(history.Run) bool) history.Run {
	t.Helper()
	var found history.Run
	testenv.WaitFor(t, p, timeout, what, func(context.Context) error {
		var runs struct{ Runs []history.Run }
		if code := s.api(t, "GET", "/api/v1/runs", s.token, &runs); code != 200 {
			return fmt.Errorf("GET /api/v1/runs: %d", code)
		}
		for _, r := range runs.Runs {
			if !r.Running() && match(r) {
				found = r
				return nil
			}
		}
		return fmt.Errorf("not yet; runs: %+v", runs.Runs)
	})
	return found
}

// waitID waits for one run to finish.
func (s *serveSetup) waitID(t *testing.T, p *testenv.Process, id string) history.Run {
	t.Helper()
	return s.waitRun(t, p, 2*time.Minute, "run "+id, func(r history.Run) bool { return r.ID == id })
}

// trigger starts a backup over the API; when a scheduled run holds the source it waits
// for that one and tries again.
func (s *serveSetup) trigger(t *testing.T, p *testenv.Process) history.Run {
	t.Helper()
	for range 3 {
		var r struct {
			history.Run
			RunningID string `json:"runningID"`
		}
		switch code := s.api(t, "POST", "/api/v1/sources/vault/backup", s.token, &r); code {
		case http.StatusAccepted:
			return r.Run
		case http.StatusConflict:
			s.waitID(t, p, r.RunningID)
		default:
			t.Fatalf("trigger: %d", code)
		}
	}
	t.Fatal("the source stayed busy")
	return history.Run{}
}
