package postgres

import (
	"context"
	"fmt"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// Kind is the postgres source kind: one PostgreSQL database.
type Kind struct{}

var _ source.Kind = Kind{}

func (Kind) Name() string        { return config.KindPostgres }
func (Kind) RestoreFlag() string { return "dump" }

func (Kind) NewSource(src *config.Source) (source.Source, error) {
	if src.Postgres == nil {
		return nil, fmt.Errorf("%w: source %s is not a postgres source", source.ErrUsage, src.Name)
	}
	return NewSource(src.Name, sourceOptions(src))
}

// Check reads a whole dump with pg_restore --list and counts its entries.
func (Kind) Check(ctx context.Context, src *config.Source, r io.Reader) (string, error) {
	var binDir string
	if src.Postgres != nil {
		binDir = src.Postgres.BinDir
	}
	return VerifyDump(ctx, r, binDir)
}

func (Kind) Describe(m *catalog.Manifest) string {
	p := m.Postgres
	if p == nil {
		return "pg_dump archive"
	}
	d := fmt.Sprintf("pg_dump of %s (PostgreSQL %s), %d tables", p.Database, p.ServerVersion, len(p.TableRowCounts))
	if p.SchemaHistoryStep != nil {
		d += fmt.Sprintf(", schema step %d", *p.SchemaHistoryStep)
	}
	return d
}

func (Kind) Restore(src *config.Source, o source.RestoreOptions, env source.Env) (source.Restore, error) {
	if src.Postgres == nil {
		return nil, fmt.Errorf("%w: source %s has no postgres settings", source.ErrUsage, src.Name)
	}
	return newLiveRestore(src, o, env)
}

func (Kind) Drill(src *config.Source, env source.Env) (source.Restore, error) {
	if src.Postgres == nil {
		return nil, fmt.Errorf("%w: source %s has no postgres settings", source.ErrUsage, src.Name)
	}
	return newDrill(src, env), nil
}
