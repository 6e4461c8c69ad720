package app

import (
	"context"
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// ErrUsage is wrapped by errors caused by what the caller asked for (an unknown source, a
// malformed id), as opposed to failures while doing it.
var ErrUsage = source.ErrUsage

// Located is one copy of a backup in one destination.
type Located = inventory.Copy

// ResolveSource picks the source a backup reference belongs to: the id's own prefix, the
// explicit source, or the only configured source.
func (a *App) ResolveSource(ref, explicit string) (string, error) {
	if ref != "latest" {
		src, _, err := catalog.ParseBackupID(ref)
		if err != nil {
			return "", fmt.Errorf("%w: %q is not a backup id (like vault-20261123T101500Z-1a2b) or \"latest\"", ErrUsage, ref)
		}
		if explicit != "" && explicit != src {
			return "", fmt.Errorf("%w: backup %s belongs to source %s, not %s", ErrUsage, ref, src, explicit)
		}
		return src, nil
	}
	if explicit != "" {
		return explicit, nil
	}
	if len(a.Config.Sources) == 1 {
		return a.Config.Sources[0].Name, nil
	}
	return "", fmt.Errorf("%w: \"latest\" needs a source when several sources are configured", ErrUsage)
}

// DestinationNames returns the named destination, or every one the source uses.
func (a *App) DestinationNames(source, only string) ([]string, error) {
	if only != "" {
		if _, err := a.Config.Destination(only); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return []string{only}, nil
	}
	dests, err := a.Config.DestinationsFor(source)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	names := make([]string, 0, len(dests))
	for _, d := range dests {
		names = append(names, d.Name)
	}
	return names, nil
}

// Inventory lists source in its destinations (or only in destination only) now.
func (a *App) Inventory(ctx context.Context, source, only string) (*inventory.Inventory, error) {
	return inventory.Take(ctx, a, source, only, clock.Or(a.Clock).Now())
}

// SourceNames are the configured sources' names, in config order.
func (a *App) SourceNames() []string {
	names := make([]string, 0, len(a.Config.Sources))
	for _, s := range a.Config.Sources {
		names = append(names, s.Name)
	}
	return names
}
