// Command lifeboat backs up and restores a Vault/OpenBao raft cluster and the PostgreSQL
// database of a workflow platform. See `lifeboat --help` and docs/.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// One root context: SIGINT/SIGTERM cancel it, so a running backup aborts cleanly
	// (uploads are abandoned, nothing is committed) instead of being killed mid-write.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	os.Exit(exitCode(err))
}

// Exit codes shared by every command; each command's help repeats the ones it uses.
const (
	exitOK      = 0 // everything succeeded
	exitFailure = 1 // the command failed (for backup: no destination accepted the backup)
	exitPartial = 2 // some destinations failed, others succeeded
	exitUsage   = 3 // bad flags, arguments or configuration
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.code != exitOK {
			printError(ee.err)
		}
		return ee.code
	}
	printError(err)
	return exitFailure
}

func printError(err error) {
	fmt.Fprintf(os.Stderr, "lifeboat: error: %v\n", err)
}
