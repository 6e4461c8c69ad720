package drill

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/source/postgres"
)

// Postgres restores loc into a scratch database, compares every table's row count with
// what the manifest recorded at backup time (counted in the dump's own snapshot), checks
// the schema step, and drops the scratch database.
func Postgres(ctx context.Context, a *app.App, src *config.Source, loc app.Located, identityFile string) *Report {
	r := &Report{Source: src.Name, BackupID: loc.Manifest.ID, Destination: loc.Dest.Name, Started: time.Now().UTC()}
	defer func() { r.Duration = time.Since(r.Started) }()
	r.Err = postgresDrill(ctx, a, src, loc, identityFile, r)
	if r.Err == nil {
		r.Err = r.failedChecks()
	}
	return r
}

// ScratchDatabase is the drill's database name for a source.
func ScratchDatabase(src *config.Source) string {
	if src.Drill != nil && src.Drill.Postgres != nil && src.Drill.Postgres.Database != "" {
		return src.Drill.Postgres.Database
	}
	return "lifeboat_drill_" + strings.ReplaceAll(src.Name, "-", "_")
}

func postgresDrill(ctx context.Context, a *app.App, src *config.Source, loc app.Located, identityFile string, r *Report) error {
	targetCfg := src.Postgres
	if src.Drill != nil && src.Drill.Postgres != nil && src.Drill.Postgres.Target != nil {
		targetCfg = src.Drill.Postgres.Target
	}
	target := app.PostgresOptions(targetCfg, fmt.Sprintf("sources[%s].drill.postgres.target", src.Name))
	target.Database = ScratchDatabase(src)
	live := app.PostgresOptions(src.Postgres, fmt.Sprintf("sources[%s].postgres", src.Name))
	if err := refuseLive(ctx, src.Name, target, live); err != nil {
		return err
	}
	m := loc.Manifest
	ids, err := a.IdentitiesFor(m.Encryption != nil, identityFile)
	if err != nil {
		return err
	}
	// A scratch database left by an interrupted drill is ours to replace.
	if err := postgres.DropDatabase(ctx, target); err != nil {
		return fmt.Errorf("clear the scratch database: %w", err)
	}
	defer func() {
		if err := postgres.DropDatabase(context.WithoutCancel(ctx), target); err != nil {
			a.Logger.Warn("drill: could not drop the scratch database", "database", target.Database, "err", err)
		}
	}()
	body, err := pipeline.OpenBackup(ctx, loc.Dest.Store, m, ids)
	if err != nil {
		return err
	}
	err = postgres.Restore(ctx, body, postgres.RestoreOptions{Target: target, NoOwner: true, Log: a.Logger})
	body.Close()
	if err != nil {
		return fmt.Errorf("restore into the scratch database %s: %w", target.Database, err)
	}
	r.check("restore", true, "pg_restore into scratch database %s succeeded", target.Database)
	if m.Postgres == nil || len(m.Postgres.TableRowCounts) == 0 {
		r.check("row counts", false, "the manifest recorded no row counts to compare (postgres.skipRowCounts is on?)")
		return nil
	}
	got, err := postgres.RowCounts(ctx, target)
	if err != nil {
		return fmt.Errorf("count rows in the scratch database: %w", err)
	}
	tables := make([]string, 0, len(m.Postgres.TableRowCounts))
	for t := range m.Postgres.TableRowCounts {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		want := m.Postgres.TableRowCounts[t]
		n, ok := got[t]
		switch {
		case !ok:
			r.check("table "+t, false, "missing after restore (want %d rows)", want)
		case n != want:
			r.check("table "+t, false, "%d rows, the backup recorded %d", n, want)
		default:
			r.check("table "+t, true, "%d rows", n)
		}
	}
	if want := m.Postgres.SchemaHistoryStep; want != nil {
		step, err := postgres.SchemaStep(ctx, target)
		switch {
		case err != nil:
			r.check("schema step", false, "%v", err)
		case step == nil || *step != *want:
			r.check("schema step", false, "got %v, the backup recorded %d", deref(step), *want)
		default:
			r.check("schema step", true, "%d", *step)
		}
	}
	return nil
}

// refuseLive stops a drill whose scratch database is the live one: the drill drops its
// scratch database before and after. It compares where the connections really go, not
// config fields: a source configured by DSN names its database only inside the DSN, and
// a drill target may be the live server under another name.
func refuseLive(ctx context.Context, name string, target, live postgres.Options) error {
	same, err := postgres.SameDatabase(ctx, target, live)
	if err != nil {
		return fmt.Errorf("cannot tell whether the drill's scratch database is the live one, so it is not touched: %w", err)
	}
	if same {
		return fmt.Errorf("the drill's scratch database %q is the live database of sources[%s] (same server and name), which the drill would drop: set sources[%s].drill.postgres.database to another name or drill.postgres.target to another server",
			target.Database, name, name)
	}
	return nil
}

func deref(p *int) any {
	if p == nil {
		return "none"
	}
	return *p
}
