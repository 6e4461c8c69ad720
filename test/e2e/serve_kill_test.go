package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/api"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// kill -9 of `lifeboat serve` in the middle of a backup commits nothing: no listing shows
// the backup and no manifest was written for it. The next start closes the run's record,
// sees there is still no backup, and its baseline run succeeds. Then a SIGTERM during a
// backup lets it finish.
func TestServeKilledMidBackup(t *testing.T) {
	// A yearly schedule: only the baseline at start runs during this test.
	s := newServeSetup(t, "0 0 1 1 *")
	c := s.vault.Client()
	seed(t, c)
	grow(t, c, 64) // a snapshot that takes long enough to be caught mid-upload

	multipart := filepath.Join(s.minio.DataDir, "data", ".minio.sys", "multipart")
	p := s.serve(t)
	var running string
	testenv.WaitFor(t, p, time.Minute, "the baseline run to start", func(context.Context) error {
		var st api.StatusResponse
		s.api(t, "GET", "/api/v1/status", s.token, &st)
		if len(st.Sources) == 1 && st.Sources[0].Running != "" {
			running = st.Sources[0].Running
			return nil
		}
		return errors.New("no run yet")
	})
	// Never two runs of one source: a trigger now is refused with the running run's id.
	var conflict struct{ RunningID string }
	if code := s.api(t, "POST", "/api/v1/sources/vault/backup", s.token, &conflict); code != http.StatusConflict || conflict.RunningID != running {
		t.Fatalf("trigger during the baseline run: %d %+v (running %s)", code, conflict, running)
	}
	// Kill as soon as the upload to MinIO is under way.
	testenv.WaitFor(t, p, time.Minute, "the upload to start", func(context.Context) error {
		if entries, _ := os.ReadDir(multipart); len(entries) > 0 {
			return nil
		}
		return errors.New("no multipart upload yet")
	})
	p.Kill()

	byDest := listBackups(t, s.vaultSetup)
	if len(byDest["local"]) != 0 || len(byDest["minio"]) != 0 {
		t.Fatalf("the killed run left a committed backup (if the backup finished before the kill, grow the vault more): %+v", byDest)
	}
	if _, err := os.Stat(filepath.Join(s.localDir, "vault", running, "manifest.json")); !os.IsNotExist(err) {
		t.Fatalf("a manifest for the killed run exists in the directory: %v", err)
	}

	// The next start: the killed run's record is closed, and the baseline runs again.
	p = s.serve(t)
	var killed history.Run
	if code := s.api(t, "GET", "/api/v1/runs/"+running, s.token, &killed); code != 200 || killed.Status != "failed" || !strings.Contains(killed.Error, "stopped during this run") {
		t.Fatalf("the killed run after a restart: %d %+v", code, killed)
	}
	// The run named its destinations when it started, so each is marked and counted.
	if len(killed.Destinations) != 2 || killed.Destinations[0].Error != "interrupted" || killed.Destinations[1].Error != "interrupted" {
		t.Fatalf("destinations of the killed run: %+v", killed.Destinations)
	}
	var scraped string
	s.api(t, "GET", "/metrics", s.token, &scraped)
	for _, want := range []string{
		`lifeboat_backup_runs_total{source="vault",status="failed"} 1`,
		`lifeboat_backup_failures_total{destination="local",source="vault"} 1`,
		`lifeboat_backup_failures_total{destination="minio",source="vault"} 1`,
	} {
		if !strings.Contains(scraped, want) {
			t.Errorf("/metrics after the restart lacks %s", want)
		}
	}
	base := s.waitRun(t, p, 2*time.Minute, "the baseline run after the restart", func(r history.Run) bool {
		return r.Trigger == history.TriggerBaseline && r.ID != running
	})
	if base.Status != "ok" {
		t.Fatalf("baseline after the crash: %+v", base)
	}
	byDest = listBackups(t, s.vaultSetup)
	if len(byDest["local"]) != 1 || len(byDest["minio"]) != 1 || byDest["minio"][0].ID != base.ID {
		t.Fatalf("after the baseline run: %+v", byDest)
	}
	s.lifeboat(t, 0, "verify", base.ID)

	// SIGTERM during a backup: it finishes (within --shutdown-grace), then serve exits 0.
	r := s.trigger(t, p)
	var st api.StatusResponse
	if s.api(t, "GET", "/api/v1/status", s.token, &st); len(st.Sources) != 1 || st.Sources[0].Running != r.ID {
		t.Fatalf("run %s already ended before the SIGTERM, so this would test nothing (grow the vault more): %+v", r.ID, st.Sources)
	}
	p.Stop()
	if exited, err := p.Exited(); !exited || err != nil {
		t.Fatalf("serve after SIGTERM: exited=%v err=%v", exited, err)
	}
	logText, err := os.ReadFile(p.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	// Logged by the shutdown only when a run is still going once the signal arrived.
	if !strings.Contains(string(logText), `msg="waiting for running backups before stopping" runs=1`) {
		t.Fatalf("serve did not wait for a running backup at SIGTERM, so the run ended before the signal:\n%s", logText)
	}
	if strings.Contains(string(logText), "cancelling running backups") || !strings.Contains(string(logText), "lifeboat serve stopped") {
		t.Fatalf("serve did not let the backup finish within the grace period:\n%s", logText)
	}
	if byDest = listBackups(t, s.vaultSetup); !hasBackup(byDest["local"], r.ID) || !hasBackup(byDest["minio"], r.ID) {
		t.Fatalf("the backup running at SIGTERM was not committed: %+v", byDest)
	}
	// The record says so too, after the next start.
	p = s.serve(t, "--baseline=false")
	var done history.Run
	if code := s.api(t, "GET", "/api/v1/runs/"+r.ID, s.token, &done); code != 200 || done.Status != "ok" {
		t.Fatalf("the run that finished during shutdown: %d %+v", code, done)
	}
	p.Stop()
}
