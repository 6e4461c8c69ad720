package postgres

import (
	"os/exec"
	"syscall"
)

// setProcAttr kills the child when lifeboat itself dies (OOM kill, SIGKILL), so a pg_dump
// never outlives the run that reads it. Pdeathsig fires when the forking OS thread exits;
// lifeboat never locks goroutines to threads, so that only happens with the process.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
