package postgres

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr starts the child in its own process group, kills that group when ctx
// ends, and kills the child when lifeboat itself dies.
//
// Own group: a Ctrl-C on the terminal or a SIGTERM to lifeboat's process group (a
// container runtime, systemd) must reach lifeboat alone. lifeboat decides what happens
// to a running dump: serve lets it finish within its grace period, a one-shot run
// cancels its context. Sharing the group, pg_dump would die at once with every such
// signal, failing the run serve meant to finish.
//
// Pdeathsig covers lifeboat dying without a chance to cancel (OOM kill, SIGKILL), so a
// pg_dump never outlives the run that reads it. It fires when the forking OS thread
// exits; lifeboat never locks goroutines to threads, so that only happens with the
// process.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd) }
}

// killGroup kills the child's process group: the child, and anything it started.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return nil
}
