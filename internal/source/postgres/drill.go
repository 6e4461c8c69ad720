package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// drill restores a backup into a scratch database, compares every table's row count with
// what the manifest recorded, checks the schema step, and drops the scratch database.
type drill struct {
	src          *config.Source
	env          source.Env
	target, live Options
}

func newDrill(src *config.Source, env source.Env) *drill {
	targetCfg := src.Postgres
	if src.Drill != nil && src.Drill.Postgres != nil && src.Drill.Postgres.Target != nil {
		targetCfg = src.Drill.Postgres.Target
	}
	target := OptionsFor(targetCfg, fmt.Sprintf("sources[%s].drill.postgres.target", src.Name))
	target.Database = ScratchDatabase(src)
	return &drill{src: src, env: env, target: target, live: sourceOptions(src)}
}

// ScratchDatabase is the drill's database name for a source.
func ScratchDatabase(src *config.Source) string {
	if src.Drill != nil && src.Drill.Postgres != nil && src.Drill.Postgres.Database != "" {
		return src.Drill.Postgres.Database
	}
	return "lifeboat_drill_" + strings.ReplaceAll(src.Name, "-", "_")
}

// Prepare refuses a scratch database that is the live one: the drill drops it before
// and after. It compares where the connections really go, not config fields: a source
// configured by DSN names its database only inside the DSN, and a drill target may be the
// live server under another name.
func (d *drill) Prepare(ctx context.Context) error {
	same, err := SameDatabase(ctx, d.target, d.live)
	if err != nil {
		return fmt.Errorf("cannot tell whether the drill's scratch database is the live one, so it is not touched: %w", err)
	}
	if same {
		name := d.src.Name
		return fmt.Errorf("the drill's scratch database %q is the live database of sources[%s] (same server and name), which the drill would drop: set sources[%s].drill.postgres.database to another name or drill.postgres.target to another server",
			d.target.Database, name, name)
	}
	return nil
}

func (d *drill) Check(context.Context, *source.Backup) error { return nil }

func (d *drill) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	// A scratch database left by an interrupted drill is ours to replace.
	if err := DropDatabase(ctx, d.target); err != nil {
		return nil, fmt.Errorf("clear the scratch database: %w", err)
	}
	defer func() {
		if err := DropDatabase(context.WithoutCancel(ctx), d.target); err != nil {
			d.env.Log().Warn("drill: could not drop the scratch database", "database", d.target.Database, "err", err)
		}
	}()
	body, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	err = Restore(ctx, body, RestoreOptions{Target: d.target, NoOwner: true, Log: d.env.Log()})
	body.Close()
	if err != nil {
		return nil, fmt.Errorf("restore into the scratch database %s: %w", d.target.Database, err)
	}
	checks := []source.Check{source.NewCheck("restore", true, "pg_restore into scratch database %s succeeded", d.target.Database)}
	m := b.Manifest
	if m == nil || m.Postgres == nil || len(m.Postgres.TableRowCounts) == 0 {
		return append(checks, source.NewCheck("row counts", false, "the manifest recorded no row counts to compare (postgres.skipRowCounts is on?)")), nil
	}
	got, err := RowCounts(ctx, d.target)
	if err != nil {
		return checks, fmt.Errorf("count rows in the scratch database: %w", err)
	}
	checks = append(checks, RowCountChecks(m.Postgres.TableRowCounts, got)...)
	if want := m.Postgres.SchemaHistoryStep; want != nil {
		step, err := SchemaStep(ctx, d.target)
		switch {
		case err != nil:
			checks = append(checks, source.NewCheck("schema step", false, "%v", err))
		case step == nil:
			checks = append(checks, source.NewCheck("schema step", false, "got none, the backup recorded %d", *want))
		case *step != *want:
			checks = append(checks, source.NewCheck("schema step", false, "got %d, the backup recorded %d", *step, *want))
		default:
			checks = append(checks, source.NewCheck("schema step", true, "%d", *step))
		}
	}
	return checks, nil
}
