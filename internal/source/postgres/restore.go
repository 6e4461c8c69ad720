package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
)

// errNoDatabase is returned by Restore when no target database is named.
var errNoDatabase = errors.New("no target database named")

// RestoreOptions says where and how to restore a dump.
type RestoreOptions struct {
	// Target is the database to restore into; it may be another server than the source.
	// It is created (from template0) when it does not exist.
	Target Options
	// DumpSchemaStep is the dump's Argo schema step (from its manifest, or read from the
	// dump by DumpSchemaStep), nil when the dump has no schema_history.
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

	// viaScript restores through psql (runScript) even when pg_restore's major release
	// is the server's: for tests, which have only one PostgreSQL release.
	viaScript bool
}

// CheckRestore makes every check Restore makes before it changes anything: the client
// programs (psql too when withGlobals, or when pg_restore is newer than the server and
// the restore goes through psql), the connection to the target, the schema guard,
// and for a missing database the right to create it. Callers run it before they stop
// the writers: a restore refused only after the workflow controller was scaled to 0 is
// an outage for nothing.
func CheckRestore(ctx context.Context, opts RestoreOptions, withGlobals bool) error {
	// Quiet: the warning about a forced downgrade belongs to the restore itself.
	_, err := plan(ctx, opts, withGlobals, slog.New(slog.DiscardHandler))
	return err
}

// Restore replaces the target database's objects with the dump's, in one transaction:
// pg_restore --clean --if-exists --single-transaction, so a failing pg_restore changes
// none of them (see changes for what it does not undo). Objects of the target that the
// dump does not contain are left alone. It makes CheckRestore's checks again, as the
// target may have changed since. The caller stops writers (the workflow controller)
// first and checks the result after.
//
// A pg_restore of a newer major release than the server restores through psql instead
// (runScript), with the same guarantees: pg_restore 17 sets a parameter older servers
// lack.
func Restore(ctx context.Context, dump io.Reader, opts RestoreOptions) error {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	var globals []byte
	if opts.Globals != nil {
		// Before anything changes: a globals.sql that is refused restores nothing.
		var err error
		if globals, err = readGlobals(opts.Globals); err != nil {
			return err
		}
	}
	p, err := plan(ctx, opts, opts.Globals != nil, log)
	if err != nil {
		return err
	}
	done := changes{db: p.db}
	if !p.exists {
		if err := p.create(ctx); err != nil {
			return err
		}
		done.created = true
		log.Info("the target database did not exist: created it", "database", p.db, "server", p.addr)
	}
	if opts.Globals != nil {
		err := applyGlobals(ctx, p.srv, p.psql, p.maintenance, globals)
		done.globals = true
		if err != nil {
			return fmt.Errorf("%w (the dump was not restored; %s)", err, done)
		}
		log.Info("applied globals.sql (roles and tablespaces)", "server", p.addr)
	}
	if p.script {
		log.Info("restoring through psql: pg_restore --file=- | psql, leaving out of its preamble the settings the server does not have",
			"pgRestore", p.client.Text, "serverVersion", p.serverVersion.Text)
		err = runScript(ctx, p.srv, p.pgRestore, p.psql, p.serverVersion, dump, opts.NoOwner, done, log)
	} else {
		err = runRestore(ctx, p.srv, p.pgRestore, dump, opts.NoOwner, done)
	}
	if err != nil {
		return err
	}
	log.Info("restored the dump", "database", p.db, "server", p.addr)
	return nil
}

// changes is what a restore did to the target outside pg_restore's transaction, so a
// failure can say exactly what stays behind.
type changes struct {
	db      string
	created bool // lifeboat created the database for this restore
	globals bool // globals.sql ran: roles are cluster-wide and outside any transaction
}

func (c changes) String() string {
	s := fmt.Sprintf("database %q is as it was", c.db)
	if c.created {
		s = fmt.Sprintf("database %q, which lifeboat created for this restore, stays behind empty: drop it or restore again", c.db)
	}
	if c.globals {
		s += "; roles and tablespaces created or altered by globals.sql (--globals) are not rolled back"
	}
	return s
}

// missingRoleRE matches pg_restore's complaint about an owner or grantee the target
// lacks.
var missingRoleRE = regexp.MustCompile(`role "[^"]*" does not exist`)

// runRestore feeds the dump to pg_restore's stdin. A read error of the dump (a failed
// download or decryption) is reported as such, not as the truncated input pg_restore then
// complains about.
func runRestore(ctx context.Context, srv *server, tool string, dump io.Reader, noOwner bool, done changes) error {
	args := []string{"--format=custom", "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-password"}
	if noOwner {
		args = append(args, "--no-owner")
	}
	// A read error of the dump (a checksum found bad at its end) kills pg_restore at once
	// rather than leave it to make sense of an input cut short: killed, it never commits.
	cmdCtx, kill := context.WithCancel(ctx)
	defer kill()
	cmd := srv.command(cmdCtx, tool, "", args...)
	stderr := newTail(64 << 10)
	hdr := &header{r: dump}
	src := &readTracker{r: hdr, onErr: kill}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = src, io.Discard, stderr
	err := cmd.Run()
	rolledBack := "rolled back: pg_restore runs in one transaction, so " + done.String()
	if readErr := src.failed(); readErr != nil {
		if err != nil {
			return fmt.Errorf("reading the backup for pg_restore: %w (%s)", readErr, rolledBack)
		}
		return fmt.Errorf("pg_restore finished but reading the backup failed at its end: %w; check the restored database", readErr)
	}
	if err != nil {
		if newer := tooNew(ctx, tool, hdr, stderr.String(), srv.opts.field()); newer != nil {
			return fmt.Errorf("%w (%s)", newer, done)
		}
		err = fmt.Errorf("%w (%s)", toolError("pg_restore", err, stderr), rolledBack)
		if !noOwner && missingRoleRE.MatchString(stderr.String()) {
			err = fmt.Errorf("%w; the target lacks roles the dump's objects belong to: restore with --globals (the backup's roles) or --no-owner", err)
		}
		return err
	}
	return nil
}

// readTracker remembers the first error of the underlying reader, and calls onErr (when
// set) on it before the error is returned. It is read by os/exec's copying goroutine,
// which may outlive the process by WaitDelay.
type readTracker struct {
	r     io.Reader
	onErr func()
	mu    sync.Mutex
	err   error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.mu.Lock()
		first := t.err == nil
		if first {
			t.err = err
		}
		t.mu.Unlock()
		if first && t.onErr != nil {
			t.onErr()
		}
	}
	return n, err
}

func (t *readTracker) failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}
