// Package testenv starts the real servers lifeboat's tests run against — OpenBao and
// HashiCorp Vault on raft, PostgreSQL 15, MinIO, fake-gcs-server, Azurite (blob service),
// local-kms and a Kubernetes API server — on 127.0.0.1, on free ports, in temporary
// directories, and stops them when the test ends.
//
// The binaries come from scripts/install-servers.sh (cached under .tools/). A missing binary
// skips the test on a developer machine and fails it when CI=true, so CI can never pass by
// skipping what it was meant to exercise.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether missing servers must fail tests instead of skipping them.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test, or fails it under CI, because a prerequisite is absent.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg)
}

var (
	rootOnce sync.Once
	rootDir  string
)

// RepoRoot is the directory holding lifeboat's go.mod.
func RepoRoot() string {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/lifeboat-backup/lifeboat\n")) {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	return rootDir
}

// ToolsBin is where scripts/install-servers.sh puts the server binaries.
func ToolsBin() string {
	if dir := os.Getenv("LIFEBOAT_TOOLS_BIN"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(), ".tools", "bin")
}

// Binary returns the path of an installed server binary, or skips/fails the test.
func Binary(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(ToolsBin(), name)
	if _, err := os.Stat(path); err != nil {
		Missing(t, "%s is not installed at %s: run scripts/install-servers.sh %s", name, path, name)
	}
	return path
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port := freePortOn("127.0.0.1")
	if port == 0 {
		t.Fatal("find a free port on 127.0.0.1: none could be bound")
	}
	return port
}

// Process is a server started by the harness. Its output goes to a log file that is
// printed when the test fails, because a server that died is otherwise silent.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// StartProcess runs argv with env appended to the test's environment.
func StartProcess(t testing.TB, name, logDir string, env []string, argv ...string) *Process {
	t.Helper()
	p, err := startProcess(name, logDir, env, argv...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			p.DumpLog(t)
		}
	})
	return p
}

// startDetached starts a process whose life is not tied to one test (the shared cluster's
// components); its owner stops it.
func startDetached(name, logDir string, argv ...string) (*Process, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	return startProcess(name, logDir, nil, argv...)
}

func startProcess(name, logDir string, env []string, argv ...string) (*Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Own process group so a stop also takes down anything the server forked.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM, then SIGKILL after 10s. Safe to call more than once.
func (p *Process) Stop() {
	if ok, _ := p.Exited(); ok {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Kill ends the process at once, like a crash or an OOM kill.
func (p *Process) Kill() {
	if ok, _ := p.Exited(); ok {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// DumpLog writes the tail of the process log into the test output.
func (p *Process) DumpLog(t testing.TB) {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return
	}
	const max = 8000
	if len(data) > max {
		data = data[len(data)-max:]
	}
	t.Logf("---- %s log (%s) ----\n%s", p.Name, p.LogPath, data)
}

// WaitFor polls check until it returns nil, the process dies, or the timeout passes.
func WaitFor(t testing.TB, p *Process, timeout time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	if err := poll(context.Background(), p, timeout, what, check); err != nil {
		if p != nil {
			p.DumpLog(t)
		}
		t.Fatal(err)
	}
}

// poll is WaitFor's loop, returning the failure instead of ending a test: each check gets
// 5 s, and a process that exits ends the wait at once.
func poll(ctx context.Context, p *Process, timeout time.Duration, what string, check func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if p != nil {
			if exited, err := p.Exited(); exited {
				return fmt.Errorf("%s exited while waiting for %s: %v", p.Name, what, err)
			}
		}
		attempt, cancelAttempt := context.WithTimeout(ctx, 5*time.Second)
		last = check(attempt)
		cancelAttempt()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for %s: %v", timeout, what, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// HTTPStatusOK is a WaitFor check that GETs url and wants a 2xx answer.
func HTTPStatusOK(client *http.Client, url string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// TempDir makes a directory that other users (postgres) can enter, unlike t.TempDir's 0700
// parents, and removes it at the end of the test.
func TempDir(t testing.TB, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lifeboat-"+strings.ReplaceAll(pattern, "/", "-")+"-")
	if err != nil {
		t.Fatalf("make temp dir: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("chmod temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// Freeze stops the process without ending it (SIGSTOP), like a hung server: connections
// stay open and nothing answers.
func (p *Process) Freeze() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGSTOP) }
