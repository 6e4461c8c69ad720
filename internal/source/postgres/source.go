package postgres

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Source is a configured PostgreSQL database as a backup source.
type Source struct {
	name string
	opts Options
}

var _ source.Source = (*Source)(nil)

// NewSource checks the options that can be checked without the network. Secrets are read
// at every Open.
func NewSource(name string, opts Options) (*Source, error) {
	if name == "" {
		return nil, fmt.Errorf("postgres source: no name")
	}
	if opts.DSN == nil && opts.Database == "" {
		return nil, fmt.Errorf("postgres source %q: no database configured (set %s.database or %s.dsn)", name, opts.field(), opts.field())
	}
	return &Source{name: name, opts: opts}, nil
}

func (s *Source) Name() string { return s.name }
func (s *Source) Kind() string { return "postgres" }

// Open checks the connection and the client programs, exports a snapshot and starts
// pg_dump in it. ctx bounds the whole dump: cancelling it kills pg_dump.
func (s *Source) Open(ctx context.Context) (*source.Artifact, error) {
	srv, err := resolve(s.opts)
	if err != nil {
		return nil, err
	}
	conn, err := srv.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			_ = conn.Close(context.Background())
		}
	}()
	info, err := readServer(ctx, conn)
	if err != nil {
		return nil, err
	}
	if info.version.Num >= 90600 {
		if info.systemID, err = systemIdentifier(ctx, conn); err != nil {
			// Only the lineage check depends on it: back up without it.
			slog.Default().Warn("backup lineage unknown", "source", s.name, "err", err)
		}
	}
	pgDump, dumpVer, err := dumpTool(ctx, s.opts, "pg_dump", info.version)
	if err != nil {
		return nil, err
	}
	var pgDumpall string
	if s.opts.Globals {
		if pgDumpall, _, err = dumpTool(ctx, s.opts, "pg_dumpall", info.version); err != nil {
			return nil, err
		}
	}
	tx, snapshot, err := exportSnapshot(ctx, conn, info.version)
	if err != nil {
		return nil, err
	}
	d, err := startDump(ctx, srv, pgDump, snapshot, conn, tx)
	if err != nil {
		_ = tx.Rollback(context.Background())
		return nil, err
	}
	started = true
	art := &source.Artifact{
		Body:     d,
		Ext:      "dump",
		Compress: true,
		Finish: func(ctx context.Context, m *catalog.Manifest) error {
			return s.finish(ctx, d, m, info, dumpVer)
		},
	}
	if s.opts.Globals {
		art.Extras = func(ctx context.Context) ([]source.Extra, error) {
			data, err := dumpGlobals(ctx, srv, pgDumpall, info.database)
			if err != nil {
				return nil, err
			}
			return []source.Extra{{Name: "globals.sql", Data: data}}, nil
		}
	}
	return art, nil
}

// exportSnapshot opens the transaction whose snapshot pg_dump imports.
func exportSnapshot(ctx context.Context, conn *pgx.Conn, v Version) (pgx.Tx, string, error) {
	if v.Num >= 90600 {
		// Like pg_dump itself: a role's timeouts must not kill this session while it sits
		// idle in its transaction for the length of the dump, or cut a long count short.
		_, err := conn.Exec(ctx, "SELECT set_config('statement_timeout', '0', false), set_config('lock_timeout', '0', false), set_config('idle_in_transaction_session_timeout', '0', false)")
		if err != nil {
			return nil, "", fmt.Errorf("disable session timeouts: %w", err)
		}
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, "", fmt.Errorf("begin the snapshot transaction: %w", err)
	}
	var snapshot string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		_ = tx.Rollback(context.Background())
		return nil, "", fmt.Errorf("export a snapshot for pg_dump: %w", err)
	}
	return tx, snapshot, nil
}

// finish reports pg_dump's exit status, then reads the manifest's metadata in the
// snapshot the dump was taken in, so it describes exactly the dumped data.
func (s *Source) finish(ctx context.Context, d *dump, m *catalog.Manifest, info serverInfo, dumpVer Version) error {
	if err := d.wait(); err != nil {
		return err
	}
	defer d.endTx()
	pi := &catalog.PostgresInfo{
		ServerVersion:    info.version.Text,
		PgDumpVersion:    dumpVer.Text,
		Database:         info.database,
		SystemIdentifier: info.systemID,
		Globals:          s.opts.Globals,
	}
	if info.systemID != "" {
		// A re-created cluster (initdb) gets a new identifier; another database of the
		// same cluster is another lineage too.
		m.Lineage = info.systemID + "/" + info.database
	}
	var err error
	if pi.SchemaHistoryStep, err = schemaStep(ctx, d.tx); err != nil {
		return err
	}
	if s.opts.RowCounts {
		if pi.TableRowCounts, err = rowCounts(ctx, d.tx); err != nil {
			return err
		}
	}
	m.Postgres = pi
	return nil
}
