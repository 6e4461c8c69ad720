package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source/postgres"
)

// preparePostgresRestore checks everything that can be checked before the restore hooks
// stop the writers — the flags, the backup, the target's connection and programs, and
// the schema guard — and returns the restore itself.
func preparePostgresRestore(cmd *cobra.Command, a *app.App, src *config.Source, opts *restoreOptions) (func(context.Context) error, error) {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	field := fmt.Sprintf("sources[%s].postgres", src.Name)
	target := app.PostgresOptions(src.Postgres, field)
	if opts.targetDSN != "" {
		has, err := dsnHasPassword(opts.targetDSN)
		if err != nil {
			return nil, usageError("--target-dsn: %w", err)
		}
		if has {
			return nil, usageError("--target-dsn must not contain a password (it would be visible in the process list and shell history): use --target-password-file or PGPASSWORD")
		}
		dsn := opts.targetDSN
		target = postgres.Options{DSN: func() (string, error) { return dsn, nil }, Field: field,
			DSNFlag: "--target-dsn", PasswordFlag: "--target-password-file", BinDir: src.Postgres.BinDir}
		if opts.targetPasswordFile != "" {
			sec := config.Secret{File: opts.targetPasswordFile}
			target.Password, target.Describe = sec.Resolve, sec.String()
		}
	}
	b, err := chooseBackup(ctx, a, src.Name, opts.dump, opts.from, opts.identityFile)
	if err != nil {
		return nil, err
	}
	needGlobals := func() error {
		if opts.globals && !hasExtra(b, "globals.sql") {
			return usageError("--globals: %s holds no globals.sql (back up with postgres.globals: true; a loose dump file never has one)", b.label)
		}
		return nil
	}
	if err := needGlobals(); err != nil {
		return nil, err
	}
	ro := postgres.RestoreOptions{Target: target, Force: opts.force, NoOwner: opts.noOwner, Log: a.Logger}
	ro.DumpSchemaStep, _ = manifestStep(b)
	// Before reading the whole backup: a wrong password or a refused downgrade is known
	// in a moment.
	if err := postgres.CheckRestore(ctx, ro, opts.globals); err != nil {
		return nil, fmt.Errorf("restore not started: %w", err)
	}
	// Verification may fall back to another backup, with its own manifest.
	if err := verifyFirst(cmd, src, b); err != nil {
		return nil, err
	}
	if err := needGlobals(); err != nil {
		return nil, err
	}
	step, known := manifestStep(b)
	if !known && !opts.force {
		if step, err = dumpSchemaStep(ctx, b, src.Postgres.BinDir); err != nil {
			return nil, fmt.Errorf("restore not started: %w", err)
		}
		if step == nil {
			fmt.Fprintln(out, "  the dump has no schema_history table: no schema guard applies")
		} else {
			fmt.Fprintf(out, "  the dump's Argo schema step is %d (read from the dump: it has no manifest)\n", *step)
		}
	}
	if !sameStep(step, ro.DumpSchemaStep) {
		ro.DumpSchemaStep = step
		if err := postgres.CheckRestore(ctx, ro, opts.globals); err != nil {
			return nil, fmt.Errorf("restore not started: %w", err)
		}
	}
	return func(ctx context.Context) error { return restorePostgres(ctx, cmd, b, ro, opts) }, nil
}

// manifestStep is the backup's schema step as its manifest records it; known is false
// without a manifest (a loose dump file).
func manifestStep(b *chosenBackup) (step *int, known bool) {
	if b.manifest == nil || b.manifest.Postgres == nil {
		return nil, false
	}
	return b.manifest.Postgres.SchemaHistoryStep, true
}

func sameStep(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func dumpSchemaStep(ctx context.Context, b *chosenBackup, binDir string) (*int, error) {
	body, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return postgres.DumpSchemaStep(ctx, body, binDir)
}

func hasExtra(b *chosenBackup, base string) bool {
	if b.manifest == nil {
		return false
	}
	return slices.ContainsFunc(b.manifest.Extras, func(x catalog.ExtraObject) bool {
		return x.Name == base || strings.HasPrefix(x.Name, base+".")
	})
}

func restorePostgres(ctx context.Context, cmd *cobra.Command, b *chosenBackup, ro postgres.RestoreOptions, opts *restoreOptions) error {
	out := cmd.OutOrStdout()
	var recorded map[string]int64
	if m := b.manifest; m != nil && m.Postgres != nil {
		recorded = m.Postgres.TableRowCounts
	}
	if opts.globals {
		g, err := b.openExtra(ctx, "globals.sql")
		if err != nil {
			return err
		}
		if g == nil {
			return fmt.Errorf("%s holds no globals.sql", b.label)
		}
		defer g.Close()
		ro.Globals = g
	}
	body, err := b.open(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	fmt.Fprintf(out, "restoring %s with pg_restore ...\n", b.label)
	if err := postgres.Restore(ctx, body, ro); err != nil {
		return err
	}
	if recorded == nil {
		fmt.Fprintf(out, "restored %s (no row counts recorded to compare with)\n", b.label)
		return nil
	}
	got, err := postgres.RowCounts(ctx, ro.Target)
	if err != nil {
		return fmt.Errorf("restored, but counting rows to check it failed: %w", err)
	}
	if diff := compareCounts(recorded, got); diff != nil {
		return fmt.Errorf("restored, but the row counts differ from the backup's: %w; check what else writes to the database", diff)
	}
	fmt.Fprintf(out, "restored %s: %d tables, row counts match the backup\n", b.label, len(recorded))
	printCounts(out, recorded)
	return nil
}

// printCounts lists the tables and their rows, the numbers an operator compares with
// what the workflow platform shows.
func printCounts(w io.Writer, counts map[string]int64) {
	tables := make([]string, 0, len(counts))
	width := 0
	for t := range counts {
		tables = append(tables, t)
		width = max(width, len(t))
	}
	sort.Strings(tables)
	for _, t := range tables {
		fmt.Fprintf(w, "  %-*s %d rows\n", width, t, counts[t])
	}
}

// compareCounts lists tables whose restored row count differs from the recorded one.
// Tables the target has beyond the dump are ignored: pg_restore leaves them alone.
func compareCounts(want, got map[string]int64) error {
	var diffs []string
	for table, n := range want {
		if g, ok := got[table]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s missing (want %d rows)", table, n))
		} else if g != n {
			diffs = append(diffs, fmt.Sprintf("%s has %d rows, want %d", table, g, n))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	return errors.New(strings.Join(diffs, "; "))
}

// dsnHasPassword uses the connection's own parser: a string match misses
// "password = x" and "postgres://user:x@host/db".
func dsnHasPassword(dsn string) (bool, error) { return postgres.DSNHasPassword(dsn) }
