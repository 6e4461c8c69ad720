package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// errNoDatabase is returned by Restore when no target database is named.
var errNoDatabase = errors.New("no target database named")

// RestoreOptions says where and how to restore a dump.
type RestoreOptions struct {
	// Target is the database to restore into; it may be another server than the source.
	// It is created (from template0) when it does not exist.
	Target Options
	// DumpSchemaStep is the dump's Argo schema step (from its manifest), nil if unknown.
	DumpSchemaStep *int
	// Force restores even over a target whose schema step is newer than the dump's.
	Force bool
	// Globals, when set, is a globals.sql (pg_dumpall --globals-only) applied with psql
	// before the dump, so the roles that own the restored objects exist.
	Globals io.Reader
	// NoOwner restores every object as owned by the connecting user (pg_restore
	// --no-owner), for targets that lack the source's roles. By default owners are kept.
	NoOwner bool
	Log     *slog.Logger
}

// Restore replaces the target database's objects with the dump's, in one transaction:
// pg_restore --clean --if-exists --single-transaction, so a failing restore leaves the
// target as it was. Objects of the target that the dump does not contain are left alone.
// The caller stops writers (the workflow controller) first and checks the result after.
func Restore(ctx context.Context, dump io.Reader, opts RestoreOptions) error {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	srv, err := resolve(opts.Target)
	if err != nil {
		return err
	}
	db := srv.database()
	if db == "" {
		return fmt.Errorf("%w: set %s.database", errNoDatabase, opts.Target.field())
	}
	pgRestore, err := findTool(opts.Target, "pg_restore", "")
	if err != nil {
		return err
	}
	var psql string
	if opts.Globals != nil {
		if psql, err = findTool(opts.Target, "psql", ""); err != nil {
			return err
		}
	}
	tgt, err := prepareTarget(ctx, srv, db, opts, log)
	if err != nil {
		return err
	}
	if opts.Globals != nil {
		if err := applyGlobals(ctx, srv, psql, tgt.maintenance, opts.Globals); err != nil {
			return err
		}
		log.Info("applied globals.sql (roles and tablespaces)", "server", tgt.addr)
	}
	if err := runRestore(ctx, srv, pgRestore, dump, opts.NoOwner); err != nil {
		return err
	}
	log.Info("restored the dump", "database", db, "server", tgt.addr)
	return nil
}

// runRestore feeds the dump to pg_restore's stdin. A read error of the dump (a failed
// download or decryption) is reported as such, not as the truncated input pg_restore then
// complains about.
func runRestore(ctx context.Context, srv *server, tool string, dump io.Reader, noOwner bool) error {
	args := []string{"--format=custom", "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-password"}
	if noOwner {
		args = append(args, "--no-owner")
	}
	cmd := srv.command(ctx, tool, "", args...)
	stderr := newTail(64 << 10)
	src := &readTracker{r: dump}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = src, io.Discard, stderr
	err := cmd.Run()
	if readErr := src.failed(); readErr != nil {
		if err != nil {
			return fmt.Errorf("reading the backup for pg_restore: %w (the target database was left unchanged: the restore runs in one transaction)", readErr)
		}
		return fmt.Errorf("pg_restore finished but reading the backup failed at its end: %w; check the restored database", readErr)
	}
	if err != nil {
		return fmt.Errorf("%w (the target database was left unchanged: the restore runs in one transaction)", toolError("pg_restore", err, stderr))
	}
	return nil
}

// readTracker remembers the first error of the underlying reader. It is read by os/exec's
// copying goroutine, which may outlive the process by WaitDelay.
type readTracker struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.mu.Lock()
		if t.err == nil {
			t.err = err
		}
		t.mu.Unlock()
	}
	return n, err
}

func (t *readTracker) failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}
