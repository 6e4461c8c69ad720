package hooks

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/childenv"
)

// hookEnv are what a command gets besides childenv's base: where the in-cluster API
// server is, for kubectl.
var hookEnv = []string{"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"}

// killDelay is how long a command gets between SIGTERM and SIGKILL once ctx ends.
const killDelay = 10 * time.Second

// Run runs each command in turn, without a shell, and stops at the first that fails.
// The commands get a minimal environment (childenv): the base, the variables of
// lifeboat's environment named in pass (restore.passEnv), then set ("NAME=value"); keep
// secrets there rather than in argv, which appears in logs and errors. Nothing else of
// lifeboat's environment, which holds its own credentials, reaches them.
//
// Each line a command writes is logged through logger ("hook output", with the command
// and the stream) instead of being passed through to lifeboat's stdout/stderr: in a
// cluster lifeboat logs JSON, and raw lines in between would break log collectors.
//
// When ctx ends, the command's process group gets SIGTERM, then SIGKILL after 10s.
func Run(ctx context.Context, argv [][]string, pass, set []string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	env := childenv.Env(append(slices.Clone(hookEnv), pass...), set...)
	for _, args := range argv {
		if err := runOne(ctx, args, env, logger); err != nil {
			return err
		}
	}
	return nil
}

func runOne(ctx context.Context, args, env []string, logger *slog.Logger) error {
	label := commandLabel(args)
	if len(args) == 0 || args[0] == "" {
		return fmt.Errorf("command %s is empty", label)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	stdout := &lineLog{logger: logger, command: label, stream: "stdout"}
	stderr := &lineLog{logger: logger, command: label, stream: "stderr"}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so that stopping `sh -c "..."` also stops what sh started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = killDelay

	logger.Info("running hook command", "command", label)
	start := time.Now()
	err := cmd.Run()
	stdout.flush()
	stderr.flush()
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("command %s stopped: %w", label, context.Cause(ctx))
	}
	if err != nil {
		if stderr.last != "" {
			return fmt.Errorf("command %s: %w; last stderr line: %q", label, err, stderr.last)
		}
		return fmt.Errorf("command %s: %w", label, err)
	}
	logger.Info("hook command finished", "command", label, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// commandLabel names a command in logs and errors the way it is written in the config.
func commandLabel(args []string) string {
	s := fmt.Sprintf("%q", args)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
