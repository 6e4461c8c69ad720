package app

import (
	"context"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// Backup runs one backup of the named source to its destinations (or the subset only).
// The error is for problems before the run starts (unknown source, bad config); the run's
// own outcome, including failures, is in the Result. id is the backup's id, made by
// catalog.NewBackupID for the same source, or "" for a fresh one.
func (a *App) Backup(ctx context.Context, name string, only []string, id string) (*pipeline.Result, error) {
	return a.BackupWith(ctx, name, only, id, BackupOptions{})
}

// BackupOptions are the one-off choices of a backup run.
type BackupOptions struct {
	// AcceptShrink records the backup as good even if it is drastically smaller than the
	// last good one: the operator says the shrink was intended (`backup --accept-shrink`).
	AcceptShrink bool
}

// BackupWith is Backup with one-off options.
func (a *App) BackupWith(ctx context.Context, name string, only []string, id string, o BackupOptions) (*pipeline.Result, error) {
	src, source, err := a.Source(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	dests, err := a.Destinations(src.Name, only, true)
	if err != nil {
		return nil, err
	}
	CheckLocks(ctx, dests)
	p, err := a.Pipeline(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	p.BackupID = id
	p.AcceptShrink = o.AcceptShrink
	return p.Run(ctx, source, dests), nil
}
