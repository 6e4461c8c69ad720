// Package e2e drives the lifeboat binary end to end against real servers (OpenBao and
// HashiCorp Vault on raft, MinIO, fake-gcs-server, Azurite, PostgreSQL, local-kms, a
// Kubernetes API server), as an operator or a CronJob would.
//
// The longest tests mostly wait on servers (raft elections, unseals, scratch servers, a
// join timeout), so they call t.Parallel(): Go runs them after the others, -parallel
// (GOMAXPROCS, 2 here) at a time. Every test starts its own servers on free ports in its
// own directories, so nothing is shared between them. Timing-sensitive tests (a server
// killed mid-run, stalls) stay serial.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

var lifeboatBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lifeboat-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lifeboatBin = filepath.Join(dir, "lifeboat")
	build := exec.Command("go", "build", "-o", lifeboatBin, "./cmd/lifeboat")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build lifeboat: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run is one lifeboat invocation's outcome.
type run struct {
	stdout, stderr string
	code           int
}

func (r run) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// lifeboat runs the binary with env added to the test's environment.
func lifeboat(t *testing.T, env []string, args ...string) run {
	t.Helper()
	return lifeboatIn(t, "", env, args...)
}

// runIn runs lifeboat in working directory dir and fails unless it exits with want.
func runIn(t *testing.T, dir string, want int, env []string, args ...string) run {
	t.Helper()
	r := lifeboatIn(t, dir, env, args...)
	if r.code != want {
		t.Fatalf("lifeboat %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

func lifeboatIn(t *testing.T, dir string, env []string, args ...string) run {
	t.Helper()
	cmd := exec.Command(lifeboatBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"LIFEBOAT_LOG_FORMAT=text"}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run lifeboat: %v", err)
	}
	t.Logf("lifeboat %s -> exit %d in %s", strings.Join(args, " "), r.code, time.Since(start).Round(time.Millisecond))
	return r
}

// mustRun runs lifeboat and fails the test unless it exits with want.
func mustRun(t *testing.T, want int, env []string, args ...string) run {
	t.Helper()
	r := lifeboat(t, env, args...)
	if r.code != want {
		t.Fatalf("lifeboat %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
