package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/hooks"
)

func TestRunLogsEachLineOfOutput(t *testing.T) {
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	err := hooks.Run(t.Context(), [][]string{{"/bin/sh", "-c", `printf 'one\r\ntwo\n\nno newline'; echo "to stderr" >&2`}}, nil, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr []string
	for line := range strings.Lines(logged.String()) {
		var rec struct{ Msg, Command, Stream, Line string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Msg != "hook output" {
			continue
		}
		if !strings.HasPrefix(rec.Command, `["/bin/sh" "-c" "printf`) {
			t.Errorf("command = %q", rec.Command)
		}
		if rec.Stream == "stdout" {
			stdout = append(stdout, rec.Line)
		} else {
			stderr = append(stderr, rec.Line)
		}
	}
	if !slices.Equal(stdout, []string{"one", "two", "", "no newline"}) || !slices.Equal(stderr, []string{"to stderr"}) {
		t.Fatalf("stdout %q, stderr %q", stdout, stderr)
	}
}

func TestRunStopsAtTheFirstFailure(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "second")
	err := hooks.Run(t.Context(), [][]string{
		{"/bin/sh", "-c", "echo 'psql: connection refused' >&2; exit 4"},
		{"touch", marker},
	}, nil, nil, testLogger(t))
	want := `command ["/bin/sh" "-c" "echo 'psql: connection refused' >&2; exit 4"]: exit status 4; last stderr line: "psql: connection refused"`
	if err == nil || err.Error() != want {
		t.Fatalf("Run = %v\nwant  %s", err, want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("second command ran after the first failed")
	}
}

// A command sees what restore.passEnv names and what lifeboat sets, never the rest of
// lifeboat's environment: its credentials stay out of the operator's scripts.
func TestRunPassesOnlyNamedEnvironment(t *testing.T) {
	for _, kv := range []string{"LIFEBOAT_TEST_INHERITED=yes", "LIFEBOAT_TEST_CANARY=canary-91c2",
		"AWS_SECRET_ACCESS_KEY=aws-91c2", "VAULT_TOKEN=vault-91c2", "LIFEBOAT_SERVER_TOKEN=server-91c2"} {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	out := filepath.Join(t.TempDir(), "env")
	err := hooks.Run(t.Context(), [][]string{{"/bin/sh", "-c", `env > "$0"`, out}}, []string{"LIFEBOAT_TEST_INHERITED"}, []string{"EXTRA=extra"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := string(data)
	if strings.Contains(env, "91c2") {
		t.Errorf("a secret of lifeboat's environment reached the hook:\n%s", env)
	}
	for _, want := range []string{"LIFEBOAT_TEST_INHERITED=yes\n", "EXTRA=extra\n", "PATH="} {
		if !strings.Contains(env, want) {
			t.Errorf("the hook lacks %q:\n%s", want, env)
		}
	}
}

func TestRunUsesNoShell(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	// With a shell, $HOME and ; would be expanded; without one they are literal arguments.
	if err := hooks.Run(t.Context(), [][]string{{"/bin/sh", "-c", `printf '%s' "$1" > "$0"`, out, "$HOME; rm -rf x"}}, nil, nil, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(out); string(data) != "$HOME; rm -rf x" {
		t.Fatalf("argument arrived as %q", data)
	}
	err := hooks.Run(t.Context(), [][]string{{"no-such-command-lifeboat"}}, nil, nil, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), `command ["no-such-command-lifeboat"]: exec: "no-such-command-lifeboat": executable file not found`) {
		t.Fatalf("Run = %v", err)
	}
}

func TestRunStopsCommandWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The sleep is sh's child: it must be stopped too, or it would hold the output pipe open.
	err := hooks.Run(ctx, [][]string{{"/bin/sh", "-c", "sleep 30; echo done"}}, nil, nil, testLogger(t))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("Run = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Run took %s after the deadline", took)
	}
}
