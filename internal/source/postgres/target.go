package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// restorePlan is a checked restore target: the programs are there, the server answers,
// and the schema guard passed.
type restorePlan struct {
	srv             *server
	db              string
	pgRestore, psql string
	maintenance     string // the database used for CREATE DATABASE and globals
	addr            string
	exists          bool
	// script restores through psql (runScript): pg_restore is newer than the server.
	script                bool
	client, serverVersion Version // pg_restore's (zero when it did not say) and the server's
}

// plan checks the target without changing it: it looks at the server through its
// maintenance database, refuses a restore that would put an older Argo schema under a
// newer workflow controller, and for a missing database checks that the user may create
// it.
func plan(ctx context.Context, opts RestoreOptions, withGlobals bool, log *slog.Logger) (*restorePlan, error) {
	srv, err := resolve(opts.Target)
	if err != nil {
		return nil, err
	}
	p := &restorePlan{srv: srv, db: srv.database()}
	if p.db == "" {
		return nil, fmt.Errorf("%w: set %s", errNoDatabase, srv.where("database"))
	}
	if p.pgRestore, err = findTool(opts.Target, "pg_restore", ""); err != nil {
		return nil, err
	}
	if withGlobals {
		if p.psql, err = findTool(opts.Target, "psql", ""); err != nil {
			return nil, err
		}
	}
	admin, maint, err := connectMaintenance(ctx, srv)
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.Background())
	p.maintenance, p.addr = maint, addr(admin.Config())
	if err := p.chooseMode(ctx, opts, admin); err != nil {
		return nil, err
	}
	var mayCreate bool
	err = admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1),
		(SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user)`, p.db).Scan(&p.exists, &mayCreate)
	if err != nil {
		return nil, fmt.Errorf("look for database %q on %s: %w", p.db, p.addr, err)
	}
	if p.exists {
		return p, checkStep(ctx, srv, p.db, opts, log)
	}
	if !mayCreate {
		return nil, fmt.Errorf("database %q does not exist on %s and user %q may not create it: create it (owned by that user) or grant the user CREATEDB",
			p.db, p.addr, admin.Config().User)
	}
	return p, nil
}

// chooseMode compares pg_restore's major release with the server's: a newer pg_restore
// restores through psql (see runScript), which must then be next to it. A pg_restore that
// does not tell its version keeps the direct mode.
func (p *restorePlan) chooseMode(ctx context.Context, opts RestoreOptions, admin *pgx.Conn) error {
	info, err := readServer(ctx, admin)
	if err != nil {
		return fmt.Errorf("%s: %w", p.addr, err)
	}
	p.serverVersion = info.version
	if p.client, err = toolVersion(ctx, p.pgRestore); err != nil {
		p.client = Version{}
	}
	p.script = opts.viaScript || useScript(p.client, p.serverVersion)
	if !p.script {
		return nil
	}
	why := "lifeboat was told to restore through psql"
	if !opts.viaScript {
		why = fmt.Sprintf("pg_restore %s is newer than the server (%s), so lifeboat runs its script through psql", p.client, p.serverVersion)
	}
	major := ""
	if p.client.Num != 0 {
		major = p.client.Major()
	}
	p.psql, err = siblingTool(opts.Target, p.pgRestore, "psql", major, why)
	return err
}

// create makes the missing target database. template0, as the pg_restore manual
// advises: objects added to template1 (extensions, tables) would collide with the dump's.
func (p *restorePlan) create(ctx context.Context) error {
	admin, _, err := connectMaintenance(ctx, p.srv)
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{p.db}.Sanitize()+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create database %q for the restore on %s: %w; create it yourself or grant the user CREATEDB", p.db, p.addr, err)
	}
	return nil
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
