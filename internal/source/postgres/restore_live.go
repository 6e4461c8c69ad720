package postgres

import (
	"context"
	"fmt"
	"sort"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// liveRestore restores a dump into the source's database or --target-dsn
// (`lifeboat restore <postgres source> --dump …`).
type liveRestore struct {
	src  *config.Source
	opts source.RestoreOptions
	env  source.Env
	ro   RestoreOptions
}

func newLiveRestore(src *config.Source, o source.RestoreOptions, env source.Env) (*liveRestore, error) {
	target := sourceOptions(src)
	if o.TargetDSN != "" {
		has, err := DSNHasPassword(o.TargetDSN)
		if err != nil {
			return nil, fmt.Errorf("%w: --target-dsn: %w", source.ErrUsage, err)
		}
		if has {
			return nil, fmt.Errorf("%w: --target-dsn must not contain a password (it would be visible in the process list and shell history): use --target-password-file or PGPASSWORD", source.ErrUsage)
		}
		dsn := o.TargetDSN
		target = Options{DSN: func() (string, error) { return dsn, nil }, Field: target.Field,
			DSNFlag: "--target-dsn", PasswordFlag: "--target-password-file", BinDir: src.Postgres.BinDir}
		if o.TargetPasswordFile != "" {
			sec := config.Secret{File: o.TargetPasswordFile}
			target.Password, target.Describe = sec.Resolve, sec.String()
		}
	}
	return &liveRestore{src: src, opts: o, env: env,
		ro: RestoreOptions{Target: target, Force: o.Force, NoOwner: o.NoOwner, Log: env.Log()}}, nil
}

func (r *liveRestore) Prepare(context.Context) error { return nil }

// ReadOnce: pg_restore --single-transaction commits nothing unless it read the whole
// dump, and runRestore and runScript kill it on a read error of the dump, so the dump is
// verified while it is restored. Not with --globals: globals.sql is applied before the
// dump, outside its transaction, so the dump must have verified before it.
func (r *liveRestore) ReadOnce() bool { return !r.opts.Globals }

// Check checks the target's connection, the client programs, the right to create a
// missing database and the schema guard, with the dump's schema step: its manifest's, or
// for a loose dump file (checked once verified) the dump's own.
func (r *liveRestore) Check(ctx context.Context, b *source.Backup) error {
	if r.opts.Globals && !b.HasExtra("globals.sql") {
		return fmt.Errorf("%w: --globals: %s holds no globals.sql (back up with postgres.globals: true; a loose dump file never has one)", source.ErrUsage, b.Label)
	}
	r.ro.DumpSchemaStep = nil
	switch {
	case b.Manifest != nil && b.Manifest.Postgres != nil:
		r.ro.DumpSchemaStep = b.Manifest.Postgres.SchemaHistoryStep
	case b.Manifest == nil && !r.opts.Force:
		step, err := dumpSchemaStep(ctx, b, r.src.Postgres.BinDir)
		if err != nil {
			return fmt.Errorf("restore not started: %w", err)
		}
		if step == nil {
			r.env.Printf("  the dump has no schema_history table: no schema guard applies\n")
		} else {
			r.env.Printf("  the dump's Argo schema step is %d (read from the dump: it has no manifest)\n", *step)
		}
		r.ro.DumpSchemaStep = step
	}
	if err := CheckRestore(ctx, r.ro, r.opts.Globals); err != nil {
		return fmt.Errorf("restore not started: %w", err)
	}
	return nil
}

func dumpSchemaStep(ctx context.Context, b *source.Backup, binDir string) (*int, error) {
	body, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return DumpSchemaStep(ctx, body, binDir)
}

// Run applies globals.sql when asked, restores the dump, and compares every table's row
// count with the one recorded at backup time.
func (r *liveRestore) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	ro := r.ro
	if r.opts.Globals {
		g, err := b.OpenExtra(ctx, "globals.sql")
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, fmt.Errorf("%s holds no globals.sql", b.Label)
		}
		defer g.Close()
		ro.Globals = g
	}
	body, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	r.env.Printf("restoring %s with pg_restore ...\n", b.Label)
	if err := Restore(ctx, body, ro); err != nil {
		return nil, err
	}
	checks := []source.Check{source.NewCheck("restore", true, "pg_restore into %s succeeded", ro.Target.Database)}
	var recorded map[string]int64
	if m := b.Manifest; m != nil && m.Postgres != nil {
		recorded = m.Postgres.TableRowCounts
	}
	if recorded == nil {
		r.env.Printf("restored %s (no row counts recorded to compare with)\n", b.Label)
		return checks, nil
	}
	got, err := RowCounts(ctx, ro.Target)
	if err != nil {
		return checks, fmt.Errorf("restored, but counting rows to check it failed: %w", err)
	}
	counts := RowCountChecks(recorded, got)
	checks = append(checks, counts...)
	if err := source.FailedChecks(counts); err != nil {
		return checks, fmt.Errorf("restored, but the row counts differ from the backup's: %w; check what else writes to the database", err)
	}
	r.env.Printf("restored %s: %d tables, row counts match the backup\n", b.Label, len(recorded))
	printCounts(r.env, recorded)
	return checks, nil
}

// printCounts lists the tables and their rows, the numbers an operator compares with
// what the workflow platform shows.
func printCounts(env source.Env, counts map[string]int64) {
	width := 0
	for _, t := range sortedTables(counts) {
		width = max(width, len(t))
	}
	for _, t := range sortedTables(counts) {
		env.Printf("  %-*s %d rows\n", width, t, counts[t])
	}
}

func sortedTables(counts map[string]int64) []string {
	tables := make([]string, 0, len(counts))
	for t := range counts {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	return tables
}

// RowCountChecks compares each table's row count after a restore with the count recorded
// at backup time (in the dump's own snapshot), one check per recorded table, sorted.
// Tables the target has beyond the dump are ignored: pg_restore leaves them alone.
func RowCountChecks(want, got map[string]int64) []source.Check {
	var checks []source.Check
	for _, t := range sortedTables(want) {
		n, ok := got[t]
		switch {
		case !ok:
			checks = append(checks, source.NewCheck("table "+t, false, "missing after restore (want %d rows)", want[t]))
		case n != want[t]:
			checks = append(checks, source.NewCheck("table "+t, false, "%d rows, the backup recorded %d", n, want[t]))
		default:
			checks = append(checks, source.NewCheck("table "+t, true, "%d rows", n))
		}
	}
	return checks
}
