package drill

import (
	"context"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/app"
	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// Options choose what a drill restores.
type Options struct {
	Backup       string // id or "latest" (default)
	From         string // destination; default the first holding the backup
	IdentityFile string
	NoRecord     bool // do not append the outcome to the manifest
}

// Run drills one source: it finds the backup, restores it into a scratch instance by the
// source's kind, checks it, and records the outcome in the manifest it read. The error is
// for problems before a drill could start (unknown source, no backup, no drill settings);
// the drill's own outcome is in the Report.
func Run(ctx context.Context, a *app.App, source string, o Options) (*Report, error) {
	src, err := a.Config.Source(source)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", app.ErrUsage, err)
	}
	if src.Kind == config.KindVault && (src.Drill == nil || src.Drill.Vault == nil) {
		return nil, fmt.Errorf("%w: source %s has no drill configuration (sources[].drill.vault with the original unseal keys); see examples/lifeboat.yaml", app.ErrUsage, source)
	}
	ref := o.Backup
	if ref == "" {
		ref = "latest"
	}
	if _, err := a.ResolveSource(ref, source); err != nil {
		return nil, err
	}
	copies, err := a.FindBackups(ctx, source, ref, o.From)
	if err != nil {
		return nil, err
	}
	loc := copies[0]
	var r *Report
	switch src.Kind {
	case config.KindVault:
		r = Vault(ctx, a, src, loc, o.IdentityFile)
	case config.KindPostgres:
		r = Postgres(ctx, a, src, loc, o.IdentityFile)
	default:
		return nil, fmt.Errorf("%w: drills of %s sources are not implemented", app.ErrUsage, src.Kind)
	}
	if !o.NoRecord {
		if err := Record(ctx, loc, r); err != nil {
			a.Logger.Warn("drill outcome not recorded", "source", source, "backup", loc.Manifest.ID, "err", err)
		}
	}
	return r, nil
}
