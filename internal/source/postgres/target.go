package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// target is the restore target, checked (and created when missing) before the restore.
type target struct {
	maintenance string // the database used for CREATE DATABASE and globals
	addr        string
}

// prepareTarget looks at the target server through its maintenance database, refuses a
// restore that would put an older Argo schema under a newer workflow controller, and
// creates the database when it is missing.
func prepareTarget(ctx context.Context, srv *server, db string, opts RestoreOptions, log *slog.Logger) (target, error) {
	admin, maint, err := connectMaintenance(ctx, srv)
	if err != nil {
		return target{}, err
	}
	defer admin.Close(context.Background())
	t := target{maintenance: maint, addr: addr(admin.Config())}
	var exists bool
	err = admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists)
	if err != nil {
		return target{}, fmt.Errorf("look for database %q on %s: %w", db, t.addr, err)
	}
	if exists {
		return t, checkStep(ctx, srv, db, opts, log)
	}
	// template0, as the pg_restore manual advises: objects added to template1 (extensions,
	// tables) would collide with the dump's.
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" TEMPLATE template0"); err != nil {
		return target{}, fmt.Errorf("create database %q for the restore on %s: %w; create it yourself or grant the user CREATEDB", db, t.addr, err)
	}
	log.Info("the target database did not exist: created it", "database", db, "server", t.addr)
	return t, nil
}

func checkStep(ctx context.Context, srv *server, db string, opts RestoreOptions, log *slog.Logger) error {
	if opts.DumpSchemaStep == nil {
		return nil
	}
	conn, err := srv.connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	step, err := schemaStep(ctx, conn)
	if err != nil || step == nil || *step <= *opts.DumpSchemaStep {
		return err
	}
	if opts.Force {
		log.Warn("forced: restoring an older Argo schema over a newer one; the workflow controller must match the dump's schema",
			"database", db, "targetStep", *step, "dumpStep", *opts.DumpSchemaStep)
		return nil
	}
	return fmt.Errorf("target database has Argo schema step %d, the dump has %d: restoring would downgrade the schema under a newer workflow controller; use --force if you mean it",
		*step, *opts.DumpSchemaStep)
}

// connectMaintenance connects to "postgres", or to template1 on servers without it (as
// createdb and pg_dumpall do).
func connectMaintenance(ctx context.Context, srv *server) (*pgx.Conn, string, error) {
	conn, err := srv.connect(ctx, "postgres")
	var pgErr *pgconn.PgError
	if err != nil && errors.As(err, &pgErr) && pgErr.Code == "3D000" {
		conn, err = srv.connect(ctx, "template1")
		return conn, "template1", err
	}
	return conn, "postgres", err
}
