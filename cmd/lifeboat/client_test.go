package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/history"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/server"
)

const clientTestToken = "client-test-token"

// apiServer is a real lifeboat server whose backups return the given outcome instead of
// reading a Vault (the real pipeline runs in test/e2e).
func apiServer(t *testing.T, backup server.BackupFunc) string {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, `
sources: [{name: vault, kind: vault, vault: {address: "http://127.0.0.1:1"}}]
destinations: [{name: local, kind: file, file: {path: %s}}]
`, filepath.Join(t.TempDir(), "backups")))
	if err != nil {
		t.Fatal(err)
	}
	a := &app.App{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv, err := server.New(server.Options{App: a, History: history.NewMemory(10), Token: clientTestToken, Backup: backup})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Shutdown(context.Background()) })
	return ts.URL
}

func outcome(okDests, failedDests int, sourceErr error) server.BackupFunc {
	return func(ctx context.Context, source string, _ []string, id string) (*pipeline.Result, error) {
		now := time.Now().UTC()
		if id == "" {
			id = catalog.NewBackupID(source, now)
		}
		res := &pipeline.Result{Source: source, ID: id, Started: now, Finished: now, Err: sourceErr}
		for i := range okDests {
			res.Destinations = append(res.Destinations, pipeline.DestinationResult{Name: fmt.Sprintf("ok%d", i), OK: true})
		}
		for i := range failedDests {
			res.Destinations = append(res.Destinations, pipeline.DestinationResult{Name: fmt.Sprintf("bad%d", i), Err: errors.New("bucket gone")})
		}
		return res, nil
	}
}

// runCLI runs the CLI with text logs (the tests read its stderr).
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runRoot(t, append([]string{"--log-format", "text"}, args...)...)
}

func TestBackupOverServerExitCodes(t *testing.T) {
	pollEvery = 10 * time.Millisecond
	t.Setenv("LIFEBOAT_TOKEN", clientTestToken)
	for _, c := range []struct {
		name    string
		backup  server.BackupFunc
		want    int
		printed string
	}{
		{"ok", outcome(2, 0, nil), exitOK, "ok0          committed"},
		{"partial", outcome(1, 1, nil), exitPartial, "bad0         FAILED"},
		{"failed", outcome(0, 1, errors.New("vault sealed")), exitFailure, "vault sealed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := apiServer(t, c.backup)
			out, errOut, code := runCLI(t, "backup", "vault", "--server", url)
			if code != c.want || !strings.Contains(out+errOut, c.printed) {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.want, out, errOut)
			}
		})
	}
}

func TestBackupOverServerRefusals(t *testing.T) {
	pollEvery = 10 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	url := apiServer(t, func(ctx context.Context, source string, only []string, id string) (*pipeline.Result, error) {
		<-release
		return outcome(1, 0, nil)(ctx, source, only, id)
	})

	t.Setenv("LIFEBOAT_TOKEN", "")
	if _, errOut, code := runCLI(t, "backup", "vault", "--server", url); code != exitUsage || !strings.Contains(errOut, "LIFEBOAT_TOKEN") {
		t.Fatalf("without a token: exit %d\n%s", code, errOut)
	}
	t.Setenv("LIFEBOAT_TOKEN", clientTestToken)
	out, _, code := runCLI(t, "backup", "vault", "--server", url, "--no-wait")
	if code != exitOK || !strings.HasPrefix(out, "vault-") {
		t.Fatalf("--no-wait: exit %d, out %q", code, out)
	}
	id := strings.TrimSpace(out)
	if _, errOut, code := runCLI(t, "backup", "vault", "--server", url); code != exitFailure || !strings.Contains(errOut, id) {
		t.Fatalf("while %s runs: exit %d\n%s", id, code, errOut)
	}
	if _, _, code := runCLI(t, "backup", "nope", "--server", url); code != exitUsage {
		t.Fatalf("unknown source: exit %d", code)
	}
	if _, _, code := runCLI(t, "status", "--server", url); code != exitFailure {
		t.Fatalf("status of a source without backups: exit %d", code)
	}
}
