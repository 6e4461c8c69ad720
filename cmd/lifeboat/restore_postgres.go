package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source/postgres"
)

// preparePostgresRestore checks everything that can be checked before touching the
// database and returns the restore itself.
func preparePostgresRestore(cmd *cobra.Command, a *app.App, src *config.Source, opts *restoreOptions) (func(context.Context) error, error) {
	b, err := chooseBackup(cmd.Context(), a, src.Name, opts.dump, opts.from, opts.identityFile)
	if err != nil {
		return nil, err
	}
	target := app.PostgresOptions(src.Postgres, fmt.Sprintf("sources[%s].postgres", src.Name))
	if opts.targetDSN != "" {
		if dsnHasPassword(opts.targetDSN) {
			return nil, usageError("--target-dsn must not contain a password (it would be visible in the process list and shell history): use --target-password-file or PGPASSWORD")
		}
		dsn := opts.targetDSN
		target = postgres.Options{DSN: func() (string, error) { return dsn, nil }, Field: "--target-dsn", BinDir: src.Postgres.BinDir}
		if opts.targetPasswordFile != "" {
			sec := config.Secret{File: opts.targetPasswordFile}
			target.Password, target.Describe = sec.Resolve, sec.String()
		}
	}
	if err := verifyFirst(cmd, src, b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return restorePostgres(ctx, cmd, a, b, target, opts) }, nil
}

func restorePostgres(ctx context.Context, cmd *cobra.Command, a *app.App, b *chosenBackup, target postgres.Options, opts *restoreOptions) error {
	out := cmd.OutOrStdout()
	ro := postgres.RestoreOptions{Target: target, Force: opts.force, NoOwner: opts.noOwner, Log: a.Logger}
	var recorded map[string]int64
	if m := b.manifest; m != nil && m.Postgres != nil {
		ro.DumpSchemaStep = m.Postgres.SchemaHistoryStep
		recorded = m.Postgres.TableRowCounts
	}
	if opts.globals {
		g, err := b.openExtra(ctx, "globals.sql")
		if err != nil {
			return err
		}
		if g == nil {
			return usageError("--globals: %s holds no globals.sql (back up with postgres.globals: true)", b.label)
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
	got, err := postgres.RowCounts(ctx, target)
	if err != nil {
		return fmt.Errorf("restored, but counting rows to check it failed: %w", err)
	}
	if diff := compareCounts(recorded, got); diff != nil {
		return fmt.Errorf("restored, but the row counts differ from the backup's: %w", diff)
	}
	fmt.Fprintf(out, "restored %s: %d tables, row counts match the backup\n", b.label, len(recorded))
	return nil
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

func dsnHasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, has := u.User.Password()
		return has || u.Query().Get("password") != ""
	}
	return strings.Contains(strings.ToLower(dsn), "password=")
}
