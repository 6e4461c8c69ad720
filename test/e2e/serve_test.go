package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/server"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// `lifeboat serve` against a real OpenBao and MinIO (plus a directory), on an
// every-minute schedule: the baseline run at start, an API run, a real cron tick, the
// API with and without the token, /metrics, the thin CLI, the web page in Chromium, and
// a clean stop.
func TestServe(t *testing.T) {
	s := newServeSetup(t, "* * * * *")
	s.addWorkflows(t, "* * * * *")
	seed(t, s.vault.Client())
	p := s.serve(t)

	// No backup yet: the baseline runs start at once, for both sources.
	base := s.waitRun(t, p, time.Minute, "the baseline run", func(r history.Run) bool {
		return r.Trigger == history.TriggerBaseline && r.Source == "vault"
	})
	if base.Status != "ok" || len(base.Destinations) != 2 || base.SHA256 == "" {
		t.Fatalf("baseline run: %+v", base)
	}
	pgBase := s.waitRun(t, p, time.Minute, "the workflows baseline run", func(r history.Run) bool {
		return r.Trigger == history.TriggerBaseline && r.Source == "workflows"
	})
	if pgBase.Status != "ok" || len(pgBase.Destinations) != 2 {
		t.Fatalf("workflows baseline run: %+v", pgBase)
	}

	// Without the token (or with a wrong one) nothing is readable or triggerable.
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/status"}, {"GET", "/api/v1/runs"}, {"GET", "/api/v1/backups"}, {"GET", "/metrics"},
		{"POST", "/api/v1/sources/vault/backup"}, {"POST", "/api/v1/backups/" + base.ID + "/verify"},
	} {
		for _, tok := range []string{"", "wrong"} {
			if code := s.api(t, c.method, c.path, tok, nil); code != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: %d, want 401", c.method, c.path, tok, code)
			}
		}
	}
	if code := s.api(t, "GET", "/healthz", "", nil); code != 200 {
		t.Errorf("/healthz: %d", code)
	}

	// An API run; its id is the backup's id in both destinations.
	apiRun := s.waitID(t, p, s.trigger(t, p).ID)
	if apiRun.Status != "ok" || apiRun.Trigger != history.TriggerAPI {
		t.Fatalf("API run: %+v", apiRun)
	}
	byDest := listBackups(t, s.vaultSetup)
	for _, d := range []string{"local", "minio"} {
		if !hasBackup(byDest[d], apiRun.ID) || !hasBackup(byDest[d], base.ID) {
			t.Fatalf("%s lacks the runs' backups: %+v", d, byDest[d])
		}
	}
	var verify api.VerifyResponse
	if code := s.api(t, "POST", "/api/v1/backups/"+apiRun.ID+"/verify", s.token, &verify); code != 200 || !verify.OK || len(verify.Copies) != 2 {
		t.Fatalf("verify over the API: %d %+v", code, verify)
	}

	// A real cron tick within the next minute.
	sched := s.waitRun(t, p, 75*time.Second, "a scheduled run", func(r history.Run) bool {
		return r.Trigger == history.TriggerSchedule && r.Source == "vault"
	})
	if sched.Status != "ok" {
		t.Fatalf("scheduled run: %+v", sched)
	}

	var st api.StatusResponse
	if code := s.api(t, "GET", "/api/v1/status", s.token, &st); code != 200 || len(st.Sources) != 2 || st.Sources[1].Name != "workflows" {
		t.Fatalf("status: %d %+v", code, st)
	}
	if w := st.Sources[1]; w.Health != server.HealthOK || w.LatestBackup == nil {
		t.Fatalf("workflows status: %+v", w)
	}
	if v := st.Sources[0]; v.Health != server.HealthOK || v.IntervalSeconds != 60 || v.NextScheduled == nil || v.LatestBackup == nil || v.RPOAgeSeconds == nil {
		t.Fatalf("vault status: %+v", v)
	}

	var metrics string
	s.api(t, "GET", "/metrics", s.token, &metrics)
	for _, want := range []string{
		`lifeboat_backup_last_success_timestamp_seconds{source="vault"}`,
		`lifeboat_backup_last_attempt_timestamp_seconds{source="vault"}`,
		`lifeboat_backup_duration_seconds{source="vault"}`,
		`lifeboat_backup_size_bytes{source="vault"}`,
		`lifeboat_backup_failures_total{destination="minio",source="vault"} 0`,
		`lifeboat_backup_runs_total{source="vault",status="ok"}`,
		`lifeboat_destination_last_success_timestamp_seconds{destination="minio",source="vault"}`,
		`lifeboat_backups_stored{destination="local",source="vault"}`,
		`lifeboat_backup_last_success_timestamp_seconds{source="workflows"}`,
		`lifeboat_backups_stored{destination="minio",source="workflows"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	thinClient(t, s)
	browsePage(t, s, p)

	// SIGTERM with nothing running: a clean, quick stop.
	p.Stop()
	if exited, err := p.Exited(); !exited || err != nil {
		t.Fatalf("serve after SIGTERM: exited=%v err=%v", exited, err)
	}
}

// The CLI as a thin client of the server.
func thinClient(t *testing.T, s *serveSetup) {
	t.Helper()
	env := append([]string{"LIFEBOAT_TOKEN=" + s.token}, s.env...)
	var r run
	for range 3 { // a scheduled run may hold the source: then try again
		r = lifeboat(t, env, "--config", s.config, "backup", "vault", "--server", s.base, "--json")
		if r.code != 1 || !strings.Contains(r.stderr, "already running") {
			break
		}
		time.Sleep(5 * time.Second)
	}
	var done history.Run
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &done) != nil || done.Status != "ok" {
		t.Fatalf("backup --server: %s", r)
	}
	r = mustRun(t, 0, env, "list", "vault", "--server", s.base)
	if !strings.Contains(r.stdout, done.ID) || strings.Count(r.stdout, done.ID) != 2 {
		t.Fatalf("list --server does not show %s in both destinations:\n%s", done.ID, r)
	}
	r = mustRun(t, 0, env, "status", "--server", s.base)
	if !strings.Contains(r.stdout, "vault (vault): ok") || !strings.Contains(r.stdout, "next run") {
		t.Fatalf("status --server:\n%s", r)
	}
	r = s.lifeboat(t, 0, "status")
	if !strings.Contains(r.stdout, "vault (vault): ok") || !strings.Contains(r.stdout, "minio") {
		t.Fatalf("status (local):\n%s", r)
	}
	// Without the token the server refuses, and the CLI says how to fix it.
	r = mustRun(t, 3, s.env, "status", "--server", s.base)
	if !strings.Contains(r.stderr, "401") || !strings.Contains(r.stderr, "LIFEBOAT_TOKEN") {
		t.Fatalf("status --server without a token:\n%s", r)
	}
}

func hasBackup(rows []listed, id string) bool {
	for _, r := range rows {
		if r.ID == id {
			return true
		}
	}
	return false
}

// A one-shot `lifeboat backup --pushgateway` (a CronJob's run) pushes the same metrics
// `serve` exports to a real Pushgateway, which serves them under job "lifeboat" with the
// source label. A later failed run's push keeps the earlier last success (the staleness
// alert's input).
func TestBackupPushesToPushgateway(t *testing.T) {
	gw := testenv.StartPushgateway(t)
	s := newVaultSetup(t, testenv.OpenBao, "")
	seed(t, s.vault.Client())
	src := []string{"job", "lifeboat", "source", "vault"}
	with := func(l ...string) []string { return append(append([]string{}, src...), l...) }
	value := func(name string, labels []string) float64 {
		t.Helper()
		v, ok := gw.Sample(name, labels...)
		if !ok {
			t.Fatalf("the Pushgateway has no %s%v:\n%s", name, labels, gw.Metrics())
		}
		return v
	}

	before := time.Now()
	s.lifeboat(t, 0, "backup", "vault", "--pushgateway", gw.URL)
	success := value("lifeboat_backup_last_success_timestamp_seconds", src)
	if success < float64(before.Unix()) || success > float64(time.Now().Unix()+1) {
		t.Fatalf("pushed last success %v, want the run's end (after %v)", success, before.Unix())
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"lifeboat_backup_runs_total", with("status", "ok"), 1},
		{"lifeboat_backup_runs_total", with("status", "failed"), 0},
		{"lifeboat_backup_failures_total", with("destination", "local"), 0},
		{"lifeboat_backup_failures_total", with("destination", "minio"), 0},
	} {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("after the ok run: %s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := value("lifeboat_backups_stored", with("destination", "minio")); n < 1 {
		t.Errorf("lifeboat_backups_stored for minio: %v", n)
	}

	// The same config with Vault unreachable: the run fails (exit 1) and still pushes.
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "address: "+s.vault.Addr(), "address: http://127.0.0.1:1", 1)
	if broken == string(data) {
		t.Fatal("the config has no vault address to break")
	}
	brokenCfg := writeFile(t, filepath.Join(t.TempDir(), "lifeboat.yaml"), broken)
	mustRun(t, 1, s.env, "--config", brokenCfg, "backup", "vault", "--pushgateway", gw.URL)
	if got := value("lifeboat_backup_last_success_timestamp_seconds", src); got != success {
		t.Errorf("the failed run's push moved the last success from %v to %v", success, got)
	}
	if got := value("lifeboat_backup_runs_total", with("status", "failed")); got != 1 {
		t.Errorf("after the failed run: runs_total{status=failed} = %v, want 1", got)
	}
	if got := value("lifeboat_backup_failures_total", with("destination", "minio")); got != 1 {
		t.Errorf("after the failed run: failures_total{destination=minio} = %v, want 1", got)
	}
	if attempt := value("lifeboat_backup_last_attempt_timestamp_seconds", src); attempt < success {
		t.Errorf("last attempt %v is before the last success %v", attempt, success)
	}
}
