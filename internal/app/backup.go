package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// Backup runs one backup of the named source to its destinations (or the subset only).
// The error is for problems before the run starts (unknown source, bad config); the run's
// own outcome, including failures, is in the Result.
func (a *App) Backup(ctx context.Context, name string, only []string) (*pipeline.Result, error) {
	src, source, err := a.Source(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	dests, err := a.Destinations(src.Name, true)
	if err != nil {
		return nil, err
	}
	if len(only) > 0 {
		var picked []pipeline.Destination
		for _, d := range dests {
			if slices.Contains(only, d.Name) {
				picked = append(picked, d)
			}
		}
		if len(picked) != len(only) {
			return nil, fmt.Errorf("%w: destinations %v: source %s only goes to the destinations its config lists", ErrUsage, only, name)
		}
		dests = picked
	}
	p, err := a.Pipeline(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return p.Run(ctx, source, dests), nil
}
