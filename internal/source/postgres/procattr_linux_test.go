package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A client program runs in its own process group, so a terminal's Ctrl-C or a SIGTERM to
// lifeboat's group leaves it to lifeboat; cancelling ctx still kills it and what it
// started.
func TestCommandOwnProcessGroup(t *testing.T) {
	srv, err := resolve(Options{Host: "db", Database: "argo"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// sh starts a grandchild that would keep running if only sh were killed.
	cmd := srv.command(ctx, "/bin/sh", "", "-c", "sleep 60 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var grandchild int
	if _, err := fmt.Fscan(out, &grandchild); err != nil {
		t.Fatal(err)
	}
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if pgid != pid || pgid == syscall.Getpgrp() {
		t.Errorf("child's process group %d, want its own (%d), not lifeboat's (%d)", pgid, pid, syscall.Getpgrp())
	}
	start := time.Now()
	cancel()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.String() != "signal: killed" {
		t.Errorf("after cancel: %v, want the child killed", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	// The grandchild got the group's SIGKILL too (it may linger as a zombie of init).
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(grandchild, 0) == nil && !isZombie(grandchild) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still runs after the cancel", grandchild)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isZombie: a killed process whose parent has not reaped it yet is dead all the same.
func isZombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // gone
	}
	// The state follows the command name in parentheses, which may contain spaces.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}
